import type { BarbicanAuthOptions } from './options';

/** Barbican secret types certctl writes. */
export type SecretType = 'private' | 'certificate' | 'opaque';

/** Body of POST /v1/secrets: PEM and JSON both travel as text/plain, which reads back byte for byte. */
export function secretBody(name: string, secretType: SecretType, payload: string): Record<string, unknown> {
  return { name, secret_type: secretType, payload, payload_content_type: 'text/plain' };
}

/** The reference names Barbican accepts in a `certificate` container. */
export type CertificateContainerSlot = 'certificate' | 'private_key' | 'intermediates';

/** Body of POST /v1/containers for a `certificate` container. */
export function certificateContainerBody(name: string, refs: Partial<Record<CertificateContainerSlot, string>>): Record<string, unknown> {
  return {
    name,
    type: 'certificate',
    secret_refs: Object.entries(refs)
      .filter(([, ref]) => ref !== undefined)
      .map(([slot, ref]) => ({ name: slot, secret_ref: ref })),
  };
}

/** Body of POST /v3/auth/tokens for the password method, scoped to a project. */
export function passwordAuthBody(auth: Extract<BarbicanAuthOptions, { method: 'password' }>): Record<string, unknown> {
  const project = auth.projectId ? { id: auth.projectId } : { name: auth.projectName, domain: { name: auth.projectDomainName } };
  return {
    auth: {
      identity: {
        methods: ['password'],
        password: { user: { name: auth.username, domain: { name: auth.userDomainName }, password: auth.password } },
      },
      scope: { project },
    },
  };
}
