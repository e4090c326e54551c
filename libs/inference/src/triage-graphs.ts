import type { FloatTensor, OnnxSession } from './onnx-session.js';
import { FM_CHANNELS, PYRAMID_FEATURE_SIZE } from './pyramid-pooling.js';

/**
 * The three graphs of the model contract (paper-method.md §7) as the pipeline calls them.
 * The pipeline depends on this interface only, so tests can drive it with fakes; the ONNX
 * implementation below maps it onto the contract's tensor names.
 */
export interface TriageGraphs {
  /** lung_logit for a batch of full 2 mm slices `[n, 1, H, W]`: n·H·W values. */
  lungLogits(slices: FloatTensor): Promise<Float32Array>;
  /** fm (n·8·h·w) and lesion_logit (n·h·w) for a batch of cropped slices `[n, 1, h, w]`. */
  backboneSeg(slices: FloatTensor): Promise<{ fm: Float32Array; lesionLogits: Float32Array }>;
  /** covid_logit for the 4680 pyramid-pooled features. */
  covidLogit(features: Float32Array): Promise<number>;
  close(): Promise<void>;
}

export interface TriageSessions {
  lungs: OnnxSession;
  backbone_seg: OnnxSession;
  cls_mlp: OnnxSession;
}

function output(result: Record<string, FloatTensor>, name: string, dims: number[], graph: string): Float32Array {
  const tensor = result[name];
  if (!tensor) throw new Error(`${graph}: no output '${name}'`);
  if (tensor.dims.join(',') !== dims.join(',')) {
    throw new Error(`${graph}: output '${name}' has dims [${tensor.dims.join(', ')}], expected [${dims.join(', ')}]`);
  }
  return tensor.data;
}

export function onnxTriageGraphs(sessions: TriageSessions): TriageGraphs {
  return {
    async lungLogits(slices) {
      const [n, , h, w] = slices.dims;
      const result = await sessions.lungs.run({ slice: slices });
      return output(result, 'lung_logit', [n, 1, h, w], 'lungs');
    },
    async backboneSeg(slices) {
      const [n, , h, w] = slices.dims;
      const result = await sessions.backbone_seg.run({ slice: slices });
      return {
        fm: output(result, 'fm', [n, FM_CHANNELS, h, w], 'backbone_seg'),
        lesionLogits: output(result, 'lesion_logit', [n, 1, h, w], 'backbone_seg'),
      };
    },
    async covidLogit(features) {
      const result = await sessions.cls_mlp.run({ features: { data: features, dims: [1, PYRAMID_FEATURE_SIZE] } });
      return output(result, 'covid_logit', [1, 1], 'cls_mlp')[0];
    },
    async close() {
      await Promise.all(Object.values(sessions).map((s: OnnxSession) => s.close()));
    },
  };
}
