import Ajv2020 from 'ajv/dist/2020';
import { httpsCall, type HttpsAnswer, type ServeProcess } from './serve';

/** Checks an answer against the response schema /openapi.json gives for that path, method and status. */
export async function openApiValidator(server: ServeProcess): Promise<(path: string, method: string, answer: HttpsAnswer) => void> {
  const doc = (await httpsCall(server, 'GET', '/openapi.json')).body;
  expect(doc.openapi).toMatch(/^3\.1/);
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addFormat('date-time', true);
  for (const [name, schema] of Object.entries(doc.components?.schemas ?? {})) ajv.addSchema(schema as object, `#/components/schemas/${name}`);
  return (path, method, answer) => {
    const operation = doc.paths[path]?.[method];
    if (!operation) throw new Error(`/openapi.json has no ${method} ${path}`);
    const response = operation.responses[String(answer.status)];
    if (!response) throw new Error(`/openapi.json documents no ${answer.status} for ${method} ${path}`);
    const content = response.content ?? {};
    const media = Object.keys(content)[0];
    const schema = content[media]?.schema;
    if (!schema) return;
    const check = ajv.compile({ ...schema, $defs: undefined, components: doc.components });
    if (!check(answer.body))
      throw new Error(`${method} ${path} ${answer.status} does not match /openapi.json: ${ajv.errorsText(check.errors)}\n${answer.text}`);
  };
}
