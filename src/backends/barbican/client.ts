import { inject, injectable } from 'inversify';
import type { HttpRequest, HttpResponse, HttpTransport } from '../http/transport';
import { BarbicanAuth } from './auth';
import { describeHttpFailure } from './errors';
import { BarbicanOptions } from './options';
import { BarbicanTransport } from './tokens';
import { certificateContainerBody, secretBody, type CertificateContainerSlot, type SecretType } from './requests';
import {
  parseContainerCreated,
  parseContainerPage,
  parseErrorResponse,
  parseSecretCreated,
  parseSecretPage,
  type ContainerEntity,
  type Page,
  type SecretEntity,
} from './responses';
import { barbicanUrls, nextOffset, type ListQuery } from './urls';

const PAGE = 100; // Barbican's max_limit_paging

/**
 * Barbican's v1 REST API as certctl uses it: secrets and certificate containers. Every call
 * re-authenticates once after a 401 (an expired Keystone token); every failure is classified
 * here into a typed failure and translated by errors.ts, so each method throws only
 * CertctlErrors. The transport below bounds time and retries.
 */
@injectable()
export class BarbicanClient {
  /**
   * Barbican's own hrefs of secrets, by id. A container must name its secrets by the href
   * Barbican issued (it checks them against its host_href), which need not be the URL certctl
   * reaches it by (an internal endpoint, a proxy).
   */
  private readonly refs = new Map<string, string>();

  constructor(
    @inject(BarbicanTransport) private readonly http: HttpTransport,
    @inject(BarbicanAuth) private readonly auth: BarbicanAuth,
    @inject(BarbicanOptions) private readonly options: BarbicanOptions,
  ) {}

  /**
   * Stores a secret and returns its id.
   * @throws InvalidInputError when Barbican finds it too large (413); BackendAuthError; BackendUnavailableError.
   */
  async createSecret(name: string, type: SecretType, payload: string): Promise<string> {
    const url = barbicanUrls.secrets(await this.auth.endpoint());
    const res = await this.call({ method: 'POST', url, body: secretBody(name, type, payload) }, [201], `the ${type} secret "${name}"`);
    // A 201 whose body cannot be read still created a secret: "may have reached the server".
    const { id, ref } = this.parsed(() => parseSecretCreated(res.data), url);
    this.refs.set(id, ref);
    return id;
  }

  /** Barbican's href of a secret certctl created or was told about; see {@link rememberRef}. */
  refOf(id: string): string | undefined {
    return this.refs.get(id);
  }

  /** Records Barbican's href of a secret created by an earlier process. */
  rememberRef(id: string, ref: string | undefined): void {
    if (ref) this.refs.set(id, ref);
  }

  /**
   * A secret's payload exactly as stored.
   * @throws NotFoundError when the secret is gone.
   */
  async getPayload(id: string, what: string): Promise<string> {
    const res = await this.call(
      { method: 'GET', url: barbicanUrls.secretPayload(await this.auth.endpoint(), id), headers: { Accept: 'text/plain' }, idempotent: true },
      [200],
      what,
      true,
    );
    const text = typeof res.data === 'string' ? res.data : JSON.stringify(res.data);
    // Barbican strips whitespace around every payload it stores (common/validators.py); each PEM
    // certctl writes ends in exactly one newline, so a read gives it back.
    return text.startsWith('-----BEGIN ') && !text.endsWith('\n') ? `${text}\n` : text;
  }

  /** Deletes a secret; one already gone counts as deleted. */
  async deleteSecret(id: string): Promise<void> {
    await this.call({ method: 'DELETE', url: barbicanUrls.secret(await this.auth.endpoint(), id), idempotent: true }, [204, 404], `secret ${id}`);
  }

  /**
   * Creates a `certificate` container over existing secrets and returns its id.
   */
  async createCertificateContainer(name: string, refs: Partial<Record<CertificateContainerSlot, string>>): Promise<string> {
    const endpoint = await this.auth.endpoint();
    const secretRefs = Object.fromEntries(Object.entries(refs).map(([slot, id]) => [slot, id && (this.refs.get(id) ?? barbicanUrls.secret(endpoint, id))]));
    const url = barbicanUrls.containers(endpoint);
    const res = await this.call({ method: 'POST', url, body: certificateContainerBody(name, secretRefs) }, [201], `the container "${name}"`);
    return this.parsed(() => parseContainerCreated(res.data), url);
  }

  /** Deletes a container (not its secrets: Barbican keeps those); one already gone counts as deleted. */
  async deleteContainer(id: string): Promise<void> {
    await this.call({ method: 'DELETE', url: barbicanUrls.container(await this.auth.endpoint(), id), idempotent: true }, [204, 404], `container ${id}`);
  }

  /**
   * Every secret matching the filters, oldest first, following Barbican's paging. A name filter
   * is applied exactly: Barbican matches `name` with SQL LIKE, where `_` and `%` are wildcards.
   */
  async listSecrets(filter: { name?: string; secretType?: SecretType } = {}): Promise<SecretEntity[]> {
    return (await this.listSecretsWithTotal(filter)).items;
  }

  /**
   * {@link listSecrets}, and whether the pages added up: Barbican pages by offset and sorts only
   * by the creation second, so a listing made while others write can skip or repeat an item.
   * `total` is undefined when the distinct items seen match what Barbican counted.
   */
  async listSecretsWithTotal(filter: { name?: string; secretType?: SecretType } = {}): Promise<{ items: SecretEntity[]; total?: number }> {
    const endpoint = await this.auth.endpoint();
    const { items, total } = await this.pages((q) => barbicanUrls.secretList(endpoint, q), parseSecretPage, filter);
    const distinct = [...new Map(items.map((s) => [s.id, s])).values()];
    const exact = filter.name === undefined ? distinct : distinct.filter((s) => s.name === filter.name);
    // `total` counts LIKE matches before the exact filter, so it is compared with the distinct raw items.
    return { items: exact, total: distinct.length >= total ? undefined : total };
  }

  /** Every container matching the name exactly (see {@link listSecrets}), oldest first. */
  async listContainers(filter: { name?: string } = {}): Promise<ContainerEntity[]> {
    const endpoint = await this.auth.endpoint();
    const all = [
      ...new Map((await this.pages((q) => barbicanUrls.containerList(endpoint, q), parseContainerPage, filter)).items.map((c) => [c.id, c])).values(),
    ];
    return filter.name === undefined ? all : all.filter((c) => c.name === filter.name);
  }

  private async pages<T>(
    url: (q: ListQuery) => string,
    parse: (data: unknown) => Page<T>,
    filter: { name?: string; secretType?: string },
  ): Promise<{ items: T[]; total: number }> {
    const out: T[] = [];
    let total = 0;
    let offset: number | undefined = 0;
    while (offset !== undefined) {
      const request: HttpRequest = { method: 'GET', url: url({ ...filter, offset, limit: PAGE }), idempotent: true };
      const res = await this.call(request, [200], 'the list');
      const page: Page<T> = this.parsed(() => parse(res.data), request.url);
      if (offset === 0) total = page.total;
      out.push(...page.items);
      const next = nextOffset(page.next);
      // A `next` that does not move forward would loop for ever; stop instead.
      offset = next !== undefined && next > offset && page.items.length > 0 ? next : undefined;
    }
    return { items: out, total };
  }

  /** Runs a response parser; a body of the wrong shape means the URL is not Barbican's. */
  private parsed<T>(parse: () => T, url: string): T {
    try {
      return parse();
    } catch (err) {
      throw describeHttpFailure(err, 'Barbican', url, this.options);
    }
  }

  /**
   * Sends one request with auth headers; after a 401 logs in again once and repeats it.
   * @throws CertctlError for a transport failure or a status outside `ok`.
   */
  private async call(request: HttpRequest, ok: number[], what: string, notFoundIsError = false): Promise<HttpResponse> {
    for (let attempt = 0; ; attempt++) {
      let res: HttpResponse;
      try {
        res = await this.http.send({ ...request, headers: { Accept: 'application/json', ...request.headers, ...(await this.auth.headers()) } });
      } catch (err) {
        throw describeHttpFailure(err, 'Barbican', request.url, this.options, { what, hint: this.auth.hint });
      }
      if (res.status === 401 && attempt === 0 && this.auth.invalidate()) continue;
      if (ok.includes(res.status) && !(notFoundIsError && res.status === 404)) return res;
      throw describeHttpFailure(parseErrorResponse(res.status, res.data), 'Barbican', request.url, this.options, { what, hint: this.auth.hint });
    }
  }
}
