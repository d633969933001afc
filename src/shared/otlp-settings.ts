/**
 * Whether and how invocations are exported as OpenTelemetry spans (OTLP over HTTP), from the standard
 * `OTEL_*` variables (docs/operations.md). Off unless asked for; reads nothing else.
 */

export type SamplerName =
  | 'always_on'
  | 'always_off'
  | 'traceidratio'
  | 'parentbased_always_on'
  | 'parentbased_always_off'
  | 'parentbased_traceidratio';

const SAMPLERS: readonly SamplerName[] = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
];

export interface OtlpSettings {
  /** `service.name` of the spans' resource (OTEL_SERVICE_NAME, default `skiff`). */
  serviceName: string;
  sampler: SamplerName;
  /** The ratio of the `*traceidratio` samplers (OTEL_TRACES_SAMPLER_ARG, default 1). */
  ratio: number;
  /** Where spans go: handed to the exporter (which reads the headers, timeout and compression itself). */
  endpoint: string;
  /** The body encoding over HTTP: JSON (the default here) or protobuf (OTEL_EXPORTER_OTLP_PROTOCOL). */
  protocol: 'http/json' | 'http/protobuf';
  /** The batch span processor's settings (OTEL_BSP_*), where given. */
  batch: BatchSettings;
}

export interface BatchSettings {
  scheduledDelayMillis?: number;
  maxQueueSize?: number;
  maxExportBatchSize?: number;
  exportTimeoutMillis?: number;
}

const BATCH_VARIABLES: Record<keyof BatchSettings, string> = {
  scheduledDelayMillis: 'OTEL_BSP_SCHEDULE_DELAY',
  maxQueueSize: 'OTEL_BSP_MAX_QUEUE_SIZE',
  maxExportBatchSize: 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE',
  exportTimeoutMillis: 'OTEL_BSP_EXPORT_TIMEOUT',
};

/** The most spans held for export (OTEL_BSP_MAX_QUEUE_SIZE is capped here): more are dropped. */
const MAX_QUEUE_SIZE = 65_536;

function batchSettings(env: NodeJS.ProcessEnv, warnings: string[]): BatchSettings {
  const out: BatchSettings = {};
  for (const [key, name] of Object.entries(BATCH_VARIABLES) as [keyof BatchSettings, string][]) {
    const raw = env[name]?.trim();
    if (raw === undefined || raw === '') continue;
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n < 1) {
      warnings.push(`${name} ${JSON.stringify(raw.slice(0, 40))} is not a positive integer; ignored`);
      continue;
    }
    out[key] = key === 'maxQueueSize' ? Math.min(n, MAX_QUEUE_SIZE) : n;
  }
  return out;
}

export type OtlpChoice =
  { enabled: true; settings: OtlpSettings; warnings: string[] } | { enabled: false; warnings: string[] };

const DEFAULT_ENDPOINT = 'http://localhost:4318/v1/traces';

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/**
 * The endpoint as the start-up log shows it: without a user, password or query string, where an
 * operator may have put the collector's credentials.
 */
export function shownEndpoint(endpoint: string): string {
  try {
    const url = new URL(endpoint);
    if (url.username !== '' || url.password !== '') {
      url.username = '***';
      url.password = '';
    }
    if (url.search !== '') url.search = '?***';
    return url.href;
  } catch {
    return '(not a URL)';
  }
}

/** What the `OTEL_*` variables ask for; `warnings` name what is not honoured, for the start-up log. */
export function otlpChoice(env: NodeJS.ProcessEnv): OtlpChoice {
  const warnings: string[] = [];
  const off = { enabled: false as const, warnings };
  if ((env['OTEL_SDK_DISABLED'] ?? '').trim().toLowerCase() === 'true') return off;
  const exporters = (env['OTEL_TRACES_EXPORTER'] ?? '')
    .split(',')
    .map((e) => e.trim().toLowerCase())
    .filter((e) => e !== '');
  const signal = env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']?.trim() ?? '';
  const shared = env['OTEL_EXPORTER_OTLP_ENDPOINT']?.trim() ?? '';
  if (exporters.includes('none')) return off;
  const unknown = exporters.filter((e) => e !== 'otlp');
  if (unknown.length > 0) {
    warnings.push(`OTEL_TRACES_EXPORTER ${unknown.join(', ')}: Skiff exports traces by OTLP only`);
  }
  // off by default: on when the otlp exporter is named, or an OTLP endpoint is given
  if (!exporters.includes('otlp') && (exporters.length > 0 || (signal === '' && shared === ''))) return off;
  const protocol = (env['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'] ?? env['OTEL_EXPORTER_OTLP_PROTOCOL'] ?? '')
    .trim()
    .toLowerCase();
  const encoding = protocol === 'http/protobuf' ? 'http/protobuf' : 'http/json';
  if (protocol !== '' && protocol !== encoding) {
    warnings.push(
      `OTEL_EXPORTER_OTLP_PROTOCOL ${protocol}: Skiff sends OTLP over HTTP, as JSON (http/json) or protobuf (http/protobuf); using http/json`,
    );
  }
  const samplerName = (env['OTEL_TRACES_SAMPLER'] ?? '').trim().toLowerCase();
  let sampler: SamplerName = 'parentbased_always_on';
  if ((SAMPLERS as readonly string[]).includes(samplerName)) sampler = samplerName as SamplerName;
  else if (samplerName !== '') {
    warnings.push(`OTEL_TRACES_SAMPLER ${samplerName} is not one Skiff knows; using parentbased_always_on`);
  }
  const arg = Number(env['OTEL_TRACES_SAMPLER_ARG'] ?? '1');
  const ratio = Number.isFinite(arg) && arg >= 0 && arg <= 1 ? arg : 1;
  const serviceName = env['OTEL_SERVICE_NAME']?.trim() || 'skiff';
  const endpoint =
    signal !== '' ? signal : shared !== '' ? `${shared.replace(/\/+$/, '')}/v1/traces` : DEFAULT_ENDPOINT;
  // the SDK would fall back to http://localhost:4318 (with the collector's headers) on a URL it cannot
  // parse, whoever listens there: a bad endpoint turns the export off instead
  if (!isHttpUrl(endpoint)) {
    const name = signal !== '' ? 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' : 'OTEL_EXPORTER_OTLP_ENDPOINT';
    warnings.push(`${name} is not an http:// or https:// URL; spans are not exported`);
    return off;
  }
  const batch = batchSettings(env, warnings);
  return {
    enabled: true,
    settings: { serviceName, sampler, ratio, endpoint, protocol: encoding, batch },
    warnings,
  };
}
