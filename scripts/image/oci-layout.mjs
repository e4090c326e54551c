// Writes an OCI image layout (https://github.com/opencontainers/image-spec/blob/main/image-layout.md)
// from gzip layers built by the image scripts: blobs/sha256/<digest>, the image config, the
// manifest, index.json naming it by tag, and the oci-layout marker. umoci, skopeo, podman,
// crane, containerd and registries read it (`skopeo copy oci:DIR:TAG docker://…` to push).
//
// Why our own writer instead of umoci/buildah: the layout is four JSON documents and the layer
// blobs; writing them here needs no daemon, no storage driver, no user namespaces, and the
// result depends only on the inputs (fixed `created`, sorted keys where the spec allows), so an
// unchanged layer keeps its digest. umoci (Debian) then reads it back as an independent check.
//
// The run-time settings (WORKDIR, ENV, USER, EXPOSE, CMD) are read from the final stage of the
// Dockerfile, so the image built here and `docker build` start the worker the same way.
//
//   node oci-layout.mjs --layout DIR --ref TAG --dockerfile Dockerfile --env NAME=VALUE …
//     --label NAME=VALUE … --layer PATH.tar.gz=DESCRIPTION …   (PATH.tar.gz.diffid beside each)
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, linkSync, copyFileSync } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    layout: { type: 'string' },
    ref: { type: 'string' },
    dockerfile: { type: 'string' },
    env: { type: 'string', multiple: true, default: [] },
    label: { type: 'string', multiple: true, default: [] },
    layer: { type: 'string', multiple: true, default: [] },
  },
});
if (!values.layout || !values.ref || !values.dockerfile || values.layer.length === 0) {
  throw new Error('usage: oci-layout.mjs --layout DIR --ref TAG --dockerfile FILE --layer PATH=DESCRIPTION …');
}
const created = new Date(Number(process.env.SOURCE_DATE_EPOCH ?? 0) * 1000).toISOString().replace('.000Z', 'Z');
const splitPair = (text) => [text.slice(0, text.indexOf('=')), text.slice(text.indexOf('=') + 1)];

/** WORKDIR, ENV, USER, EXPOSE and CMD of the Dockerfile's last stage. */
function runtimeSettings(dockerfile) {
  const lines = dockerfile.replace(/\\\n/g, ' ').split('\n');
  const lastFrom = lines.findLastIndex((line) => /^FROM\s/i.test(line));
  const settings = { Env: [], ExposedPorts: {} };
  for (const line of lines.slice(lastFrom + 1)) {
    const match = /^(\w+)\s+(.*)$/.exec(line.trim());
    if (!match) continue;
    const [, instruction, rest] = match;
    switch (instruction.toUpperCase()) {
      case 'WORKDIR':
        settings.WorkingDir = rest.trim();
        break;
      case 'USER':
        settings.User = rest.trim();
        break;
      case 'EXPOSE':
        for (const port of rest.trim().split(/\s+/))
          settings.ExposedPorts[port.includes('/') ? port : `${port}/tcp`] = {};
        break;
      case 'ENV':
        // NAME=VALUE pairs without quotes or spaces in values: what this Dockerfile uses.
        for (const pair of rest.trim().split(/\s+/)) {
          if (!pair.includes('=')) throw new Error(`Dockerfile ENV without NAME=VALUE: ${line}`);
          settings.Env.push(pair);
        }
        break;
      case 'CMD':
        settings.Cmd = JSON.parse(rest); // the exec form only: no shell in this image
        break;
    }
  }
  if (!settings.Cmd || !settings.User || !settings.WorkingDir) {
    throw new Error('the Dockerfile final stage must set WORKDIR, USER and CMD (exec form)');
  }
  return settings;
}

async function sha256OfFile(path) {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk);
  return hash.digest('hex');
}

const blobs = join(values.layout, 'blobs', 'sha256');
await rm(values.layout, { recursive: true, force: true });
await mkdir(blobs, { recursive: true });

/** Stores a JSON document as a blob; returns its descriptor. */
async function jsonBlob(mediaType, document) {
  const bytes = Buffer.from(JSON.stringify(document));
  const digest = createHash('sha256').update(bytes).digest('hex');
  await writeFile(join(blobs, digest), bytes);
  return { mediaType, digest: `sha256:${digest}`, size: bytes.length };
}

const layers = [];
const history = [];
const diffIds = [];
for (const spec of values.layer) {
  const [path, description] = splitPair(spec);
  const digest = await sha256OfFile(path);
  // A hard link: the layout costs no extra disk beside the layer cache (a copy across file systems).
  const target = join(blobs, digest);
  if (!existsSync(target)) {
    try {
      linkSync(path, target);
    } catch {
      copyFileSync(path, target);
    }
  }
  layers.push({
    mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
    digest: `sha256:${digest}`,
    size: (await stat(path)).size,
  });
  diffIds.push(`sha256:${(await readFile(`${path}.diffid`, 'utf8')).trim()}`);
  history.push({ created, created_by: `scripts/image: ${description}` });
}

const settings = runtimeSettings(await readFile(values.dockerfile, 'utf8'));
const env = [...values.env, ...settings.Env];
const config = await jsonBlob('application/vnd.oci.image.config.v1+json', {
  created,
  architecture: 'amd64',
  os: 'linux',
  config: {
    User: settings.User,
    ExposedPorts: settings.ExposedPorts,
    Env: env,
    Cmd: settings.Cmd,
    WorkingDir: settings.WorkingDir,
    Labels: Object.fromEntries(values.label.map(splitPair)),
  },
  rootfs: { type: 'layers', diff_ids: diffIds },
  history,
});
const manifest = await jsonBlob('application/vnd.oci.image.manifest.v1+json', {
  schemaVersion: 2,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  config,
  layers,
  annotations: { 'org.opencontainers.image.created': created },
});
await writeFile(
  join(values.layout, 'index.json'),
  JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      {
        ...manifest,
        platform: { architecture: 'amd64', os: 'linux' },
        annotations: { 'org.opencontainers.image.ref.name': values.ref },
      },
    ],
  }),
);
await writeFile(join(values.layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));

const compressed = layers.reduce((sum, layer) => sum + layer.size, 0);
console.log(
  JSON.stringify({
    ref: values.ref,
    manifest: manifest.digest,
    config: config.digest,
    compressedLayerBytes: compressed,
  }),
);
