import { PermanentError } from '@app/errors';
import { describe, expect, it } from 'vitest';
import { ModelManifestError, parseModelManifest } from './model-manifest.js';

const SNOMED = 'http://snomed.info/sct';
const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
const prob = { system: DCM, code: '122157', display: 'Probability' };
const hash = (c: string) => c.repeat(64);

/** What training/covid_triage/export.py build_manifest writes. */
function validManifest() {
  return {
    schemaVersion: 1,
    id: 'covid-triage-multitask-demo',
    version: '0.0.0-untrained',
    name: 'COVID-19 CT triage after Goncharov et al. 2021 (untrained)',
    intendedUse: 'demonstration only — not for clinical use',
    reference: 'Goncharov et al., arXiv:2006.01441 (COVID-19 triage, multitask spatial model)',
    weights: { trained: false, widthMultiplier: 0.25 },
    preprocessing: {
      arrayLayout: '(rows, cols, slices)',
      orientation: {
        rows: 'anterior->posterior',
        cols: 'patient right->left',
        slices: 'head->feet (ImagePositionPatient z descending)',
      },
      inPlaneSpacingMm: [2.0, 2.0],
      sliceAxisResampled: false,
      resampling: 'linear, fill with the volume minimum',
      hu: 'stored * RescaleSlope + RescaleIntercept',
      window: { huMin: -1000.0, huMax: 300.0, outMin: 0.0, outMax: 1.0 },
      lungCrop: 'tight 3D bounding box of (sigmoid(lung_logit) > lungs threshold), no margin',
    },
    thresholds: { lungs: 0.5, lesions: 0.2 },
    pyramidPooling: {
      levels: [1, 2, 4, 8],
      featureSize: 4680,
      minAxisLength: 8,
      rule: 'stride=floor(L/l), kernel=L-(l-1)*stride, window i=[i*stride, i*stride+kernel), max',
      layout: 'levels in order; within a level (channel, h, w, d), channel-major',
    },
    graphs: [
      {
        name: 'lungs',
        file: 'lungs.onnx',
        sha256: hash('a'),
        opset: 17,
        inputs: [
          { name: 'slice', dtype: 'float32', shape: ['N', 1, 'H', 'W'], meaning: 'windowed full 2 mm axial slices' },
        ],
        outputs: [
          {
            name: 'lung_logit',
            dtype: 'float32',
            shape: ['N', 1, 'H', 'W'],
            meaning: 'lung logit per pixel; sigmoid gives P(lung)',
            code: { system: SNOMED, code: '39607008', display: 'Lung structure' },
            unitCode: prob,
          },
        ],
      },
      {
        name: 'backbone_seg',
        file: 'backbone_seg.onnx',
        sha256: hash('b'),
        opset: 17,
        inputs: [{ name: 'slice', dtype: 'float32', shape: ['N', 1, 'h', 'w'], meaning: 'cropped slices' }],
        outputs: [
          { name: 'fm', dtype: 'float32', shape: ['N', 8, 'h', 'w'], meaning: 'upper feature map' },
          {
            name: 'lesion_logit',
            dtype: 'float32',
            shape: ['N', 1, 'h', 'w'],
            meaning: 'COVID-19 lesion logit per pixel',
            code: { system: SNOMED, code: '52988006', display: 'Lesion' },
            unitCode: prob,
          },
        ],
      },
      {
        name: 'cls_mlp',
        file: 'cls_mlp.onnx',
        sha256: hash('c'),
        opset: 17,
        inputs: [{ name: 'features', dtype: 'float32', shape: [1, 4680], meaning: 'pyramid-pooled fm' }],
        outputs: [{ name: 'covid_logit', dtype: 'float32', shape: [1, 1], meaning: 'logit', unitCode: prob }],
      },
    ],
  };
}

type Manifest = ReturnType<typeof validManifest>;

function issuesOf(mutate: (m: Manifest) => void): string[] {
  const manifest = validManifest();
  mutate(manifest);
  let caught: unknown;
  try {
    parseModelManifest(manifest);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ModelManifestError);
  return [...(caught as ModelManifestError).issues];
}

describe('parseModelManifest', () => {
  it('accepts the manifest export.py writes (after a JSON round trip)', () => {
    const manifest = parseModelManifest(JSON.parse(JSON.stringify(validManifest())));
    expect(manifest.pyramidPooling.featureSize).toBe(4680);
    expect(manifest.graphs.map((g) => g.name)).toEqual(['lungs', 'backbone_seg', 'cls_mlp']);
    expect(manifest.thresholds).toEqual({ lungs: 0.5, lesions: 0.2 });
  });

  it('throws a permanent INTERNAL error', () => {
    const error = (() => {
      try {
        parseModelManifest({});
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as ModelManifestError).code).toBe('INTERNAL');
    expect((error as ModelManifestError).transient).toBe(false);
  });

  it('names a missing file and a missing or malformed hash', () => {
    const issues = issuesOf((m) => {
      delete (m.graphs[0] as Partial<Manifest['graphs'][0]>).file;
      delete (m.graphs[1] as Partial<Manifest['graphs'][1]>).sha256;
      m.graphs[2].sha256 = 'not-a-hash';
    });
    expect(issues).toHaveLength(3);
    expect(issues.some((i) => i.startsWith('graphs.0.file:'))).toBe(true);
    expect(issues.some((i) => i.startsWith('graphs.1.sha256:'))).toBe(true);
    expect(issues.some((i) => i.startsWith('graphs.2.sha256:'))).toBe(true);
  });

  it('rejects unknown top-level fields and a clinical-use claim', () => {
    const issues = issuesOf((m) => {
      (m as Record<string, unknown>).extra = 1;
      m.intendedUse = 'clinical triage';
    });
    expect(issues.some((i) => i.includes('extra'))).toBe(true);
    expect(issues.some((i) => i.startsWith('intendedUse:'))).toBe(true);
  });

  it('rejects a name longer than a DICOM LO value (it becomes the SEG/SR algorithm name)', () => {
    const issues = issuesOf((m) => {
      m.name = 'x'.repeat(65);
    });
    expect(issues.some((i) => i.startsWith('name:'))).toBe(true);
  });

  it('names wrong tensor names and ranks', () => {
    const issues = issuesOf((m) => {
      m.graphs[0].inputs[0].name = 'image';
      m.graphs[1].outputs[0].shape = ['N', 8, 'h'];
      m.graphs[2].outputs[0].shape = [1];
    });
    expect(issues).toEqual([
      `graph lungs inputs: tensor names ["image"], expected ["slice"]`,
      `graph backbone_seg outputs 'fm': rank 3 (shape ["N",8,"h"]), expected rank 4`,
      `graph cls_mlp outputs 'covid_logit': rank 1 (shape [1]), expected rank 2`,
    ]);
  });

  it('names a feature size other than 4680, in the pooling block and in the cls input', () => {
    const issues = issuesOf((m) => {
      m.pyramidPooling.featureSize = 4096;
      m.graphs[2].inputs[0].shape = [1, 4096];
    });
    expect(issues).toEqual([
      `graph cls_mlp inputs 'features': axis 1 is 4096, expected 4680`,
      'pyramidPooling.featureSize is 4096, expected 4680',
    ]);
  });

  it('names a wrong fm channel count and a missing graph', () => {
    const issues = issuesOf((m) => {
      m.graphs[1].outputs[0].shape = ['N', 16, 'h', 'w'];
      m.graphs[0].name = 'cls_mlp';
    });
    expect(issues).toContain(`graphs: 0 graph(s) named 'lungs', expected exactly one`);
    expect(issues).toContain(`graphs: 2 graph(s) named 'cls_mlp', expected exactly one`);
    expect(issues).toContain(`graph backbone_seg outputs 'fm': axis 1 is 16, expected 8`);
  });

  it('names pyramid levels other than [1,2,4,8]', () => {
    const issues = issuesOf((m) => {
      m.pyramidPooling.levels = [1, 2, 4];
      m.pyramidPooling.minAxisLength = 4;
    });
    expect(issues).toEqual([
      'pyramidPooling.levels are [1,2,4], expected [1,2,4,8]',
      'pyramidPooling.minAxisLength is 4, expected 8',
    ]);
  });

  it('names spacing, window, slice resampling and orientation mismatches all at once', () => {
    const issues = issuesOf((m) => {
      m.preprocessing.inPlaneSpacingMm = [1.5, 1.5];
      m.preprocessing.window.huMax = 400;
      m.preprocessing.window.outMax = 255;
      m.preprocessing.sliceAxisResampled = true;
      m.preprocessing.orientation.slices = 'feet->head';
    });
    expect(issues).toEqual([
      'preprocessing.inPlaneSpacingMm is [1.5,1.5], expected [2,2]',
      'preprocessing.sliceAxisResampled is true, expected false',
      'preprocessing.window.huMax is 400, expected 300',
      'preprocessing.window.outMax is 255, expected 1',
      'preprocessing.orientation.slices is "feet->head", expected ^head\\s*->\\s*feet',
    ]);
  });

  it('puts every issue in the error message', () => {
    const manifest = validManifest();
    manifest.pyramidPooling.featureSize = 1;
    manifest.preprocessing.inPlaneSpacingMm = [1, 1];
    expect(() => parseModelManifest(manifest)).toThrow(/2 issue\(s\).*featureSize is 1.*inPlaneSpacingMm/);
  });
});
