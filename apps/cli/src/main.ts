#!/usr/bin/env node
import 'reflect-metadata';
import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { createFrameDecoder } from '@app/dicom';
import { TriageError } from '@app/errors';
import { FolderStudySource, ingestStudy, type StudySource } from '@app/ingest';
import { analyzeStudy, AnalyzeUsageError, ANALYZE_USAGE, parseAnalyzeArguments } from './analyze-command.js';
import { dicomwebStudySource } from './dicomweb-source.js';
import { inspectReport } from './inspect-command.js';
import { writePhantomStudy } from './phantom-command.js';
import { storeFolder } from './store-command.js';

const USAGE = `usage: triage inspect <folder-or-dicomweb-study-url>
       triage phantom <folder>
       triage store <folder>
       triage analyze [<folder-or-dicomweb-study-url>] [--out <dir>] [--model <manifest.json>] [--threads <n>]

  inspect   choose the study's axial chest CT series, build its volume and print,
            as JSON, the chosen series and why, the rejected series with reasons,
            dimensions, spacing, orientation, HU range and transfer syntaxes.
            A URL has the form <dicomweb-root>/studies/<StudyInstanceUID>;
            credentials come from DICOMWEB_AUTH and friends (see README).
  phantom   write the embedded demonstration study (a synthetic chest phantom:
            a thin lung series, a thick soft-tissue series and a localizer) as
            DICOM files into <folder>.
  store     send every DICOM file of <folder> to the archive (STOW-RS to
            DICOMWEB_BASE_URL) and report what was stored and what failed.
${ANALYZE_USAGE.slice(ANALYZE_USAGE.indexOf('\n') + 1)}`;

async function studySource(target: string): Promise<StudySource> {
  if (/^https?:\/\//.test(target)) {
    return dicomwebStudySource(target);
  }
  const info = await stat(target).catch(() => undefined);
  if (!info?.isDirectory()) throw new Error(`not a folder or an http(s) study URL: ${target}`);
  return new FolderStudySource(target);
}

/** Decisions go to stderr, one line each, so stdout stays pure JSON. */
const log = (line: string) => void process.stderr.write(`${line}\n`);

async function analyze(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${ANALYZE_USAGE}\n`);
    return 0;
  }
  try {
    const result = await analyzeStudy(parseAnalyzeArguments(argv), log);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return 0;
  } catch (error) {
    if (!(error instanceof AnalyzeUsageError)) throw error;
    process.stderr.write(`triage analyze: ${error.message}\n${ANALYZE_USAGE}\n`);
    return 2;
  }
}

async function main(argv: string[]): Promise<number> {
  // analyze has options of its own; the other commands take a single argument.
  if (argv[0] === 'analyze') return analyze(argv.slice(1));
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { help: { type: 'boolean' } },
  });
  const [command, target] = positionals;
  if (values.help || command === undefined) {
    process.stdout.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  if (command === 'phantom' && target !== undefined) {
    const written = await writePhantomStudy(target);
    process.stdout.write(`${JSON.stringify(written, null, 2)}\n`);
    return 0;
  }
  if (command === 'store' && target !== undefined) {
    const report = await storeFolder(target);
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return report.failed.length === 0 ? 0 : 1;
  }
  if (command !== 'inspect' || target === undefined) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const source = await studySource(target);
  const decoder = createFrameDecoder(availableParallelism());
  let study;
  try {
    study = await ingestStudy(source, { log, decoder });
  } finally {
    await decoder.close();
  }
  process.stdout.write(`${JSON.stringify(inspectReport(source.label, study), null, 2)}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    // A typed error carries a code a script can act on; its message holds no patient data.
    const detail =
      error instanceof TriageError
        ? { error: error.code, message: error.message }
        : { error: 'INTERNAL', message: String(error) };
    process.stderr.write(`${JSON.stringify(detail)}\n`);
    process.exitCode = 1;
  },
);
