/**
 * `class_specification.code` of a CONTAINER function, split at its first `:` as upstream's node does:
 * `grpc:<url>` attaches to an instance already running there, `container:<image>:<tag>` runs an image
 * (only where an OCI runner is configured; no tag means `latest`), and Skiff's own `skiff:<function>`
 * makes a deployed function a member. Returns the attachment, or the problem as a sentence.
 */
import { NAME_PATTERN } from '../../model/spec.js';
import type { Attach } from './workflow-plan.js';

/** An OCI tag (the distribution spec's grammar). */
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** An image reference without its tag: registry host (and port), path; no spaces, no `@digest`. */
const IMAGE = /^[A-Za-z0-9][A-Za-z0-9._/:-]{0,254}$/;
/** An explicit port at the end of the URL (WHATWG `URL.port` hides a default one). */
const PORT_AT_END = /:(\d{1,5})\/?$/;

export function containerAttach(code: string, ociRunner: boolean): Attach | string {
  const colon = code.indexOf(':');
  if (colon < 0) return `invalid container function specifier: ${code}`;
  const prefix = code.slice(0, colon);
  const rest = code.slice(colon + 1);
  if (prefix === 'grpc') return grpcAttach(rest);
  if (prefix === 'container') return imageAttach(rest, ociRunner);
  if (prefix === 'skiff') {
    return NAME_PATTERN.test(rest)
      ? { skiff: rest }
      : `skiff:${rest} names no Skiff function: use skiff:<function>, a deployed function's name`;
  }
  return `container function type not implemented: ${prefix}`;
}

/** `http(s)://<host>:<port>` with nothing else (no credentials, path, query or fragment). */
function grpcAttach(raw: string): Attach | string {
  const usage = `use grpc:http://<host>:<port>, e.g. grpc:http://127.0.0.1:7101`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return `invalid gRPC URL ${JSON.stringify(raw)}: ${usage}`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return `gRPC URL ${JSON.stringify(raw)} is not http or https: ${usage}`;
  if (url.hostname === '') return `gRPC URL ${JSON.stringify(raw)} has no host: ${usage}`;
  if (url.username !== '' || url.password !== '')
    return `gRPC URL ${JSON.stringify(raw)} carries credentials: give only scheme, host and port`;
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '')
    return `gRPC URL ${JSON.stringify(raw)} has a path, query or fragment: give only scheme, host and port`;
  const port = PORT_AT_END.exec(raw);
  const n = port?.[1] === undefined ? 0 : Number(port[1]);
  if (n < 1 || n > 65535) return `gRPC URL ${JSON.stringify(raw)} names no port (1-65535): ${usage}`;
  return { url: `${url.protocol}//${url.hostname}:${n}` };
}

/**
 * `<image>:<tag>`, split at the last `:` unless what follows it holds a `/` (a registry port:
 * `reg:5000/fn`). Without a tag the image's `latest` is meant, as upstream hands the reference to Docker.
 */
function imageAttach(rest: string, ociRunner: boolean): Attach | string {
  const colon = rest.lastIndexOf(':');
  const tagged = colon >= 0 && !rest.slice(colon + 1).includes('/');
  const image = tagged ? rest.slice(0, colon) : rest;
  const tag = tagged ? rest.slice(colon + 1) : 'latest';
  if (!IMAGE.test(image) || !TAG.test(tag))
    return `invalid container image ${JSON.stringify(rest)}: use container:<image>:<tag>, e.g. container:python-function:latest`;
  if (!ociRunner)
    return `container:${rest} needs an OCI runner to run the image, and none is configured: attach an instance that is already running with grpc:<url> instead`;
  return { container: { image, tag } };
}
