import { writePart10, type Dataset } from '../part10-writer.js';
import { sliceNormal, type Vec3 } from '../geometry.js';
import { SopClass } from '../sop-classes.js';
import { newUid } from '../uid.js';

/**
 * Synthetic axial CT series of a simple chest phantom (air, body, two lungs),
 * in any geometry, for tests and demonstrations. Pixel values follow real
 * scanners: unsigned 12-bit stored values with RescaleIntercept -1024.
 */

export interface SyntheticCtOptions {
  rows?: number;
  columns?: number;
  slices?: number;
  /** Row spacing then column spacing, mm (DICOM PixelSpacing order). */
  pixelSpacing?: [number, number];
  /** Distance between slice centres, mm. */
  sliceSpacing?: number;
  /** Direction cosines of the rows and of the columns (ImageOrientationPatient). */
  orientation?: [number, number, number, number, number, number];
  /** Position of the first slice's first pixel, mm. */
  origin?: Vec3;
  /** +1 steps along rows × columns (towards the head for axial images), -1 against it. */
  sliceDirection?: 1 | -1;
  studyInstanceUid?: string;
  seriesInstanceUid?: string;
  frameOfReferenceUid?: string;
  patientId?: string;
  seriesDescription?: string;
  /** Sideways drift of each slice, mm per slice along the rows and columns: a tilted (sheared) stack. */
  shearMmPerSlice?: [number, number];
  /** Indices of slices to leave out, to make a gap. */
  omitSlices?: number[];
  /** Overrides of single attributes (e.g. Modality, ImageType, ConvolutionKernel, SliceThickness). */
  attributes?: Dataset;
}

export interface SyntheticInstance {
  sopInstanceUid: string;
  instanceNumber: number;
  position: Vec3;
  /** The Part 10 file. */
  bytes: Buffer;
  /** Hounsfield units, row-major, for checking what a reader decodes. */
  hu: Int16Array;
}

export interface SyntheticCtSeries {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  frameOfReferenceUid: string;
  rows: number;
  columns: number;
  instances: SyntheticInstance[];
}

const AIR_HU = -1000;
const BODY_HU = 40;
const LUNG_HU = -850;
const RESCALE_INTERCEPT = -1024;

/** The phantom at one slice; `t` runs 0..1 through the stack, lungs largest in the middle. */
function phantomSlice(rows: number, columns: number, t: number): Int16Array {
  const hu = new Int16Array(rows * columns);
  const lungScale = 0.35 + 0.65 * Math.sin(Math.PI * Math.min(Math.max(t, 0), 1));
  for (let r = 0; r < rows; r++) {
    const y = (r + 0.5) / rows - 0.5;
    for (let c = 0; c < columns; c++) {
      const x = (c + 0.5) / columns - 0.5;
      let value = AIR_HU;
      if ((x / 0.45) ** 2 + (y / 0.35) ** 2 <= 1) value = BODY_HU;
      for (const centre of [-0.17, 0.17]) {
        if (((x - centre) / (0.12 * lungScale)) ** 2 + (y / (0.22 * lungScale)) ** 2 <= 1) value = LUNG_HU;
      }
      hu[r * columns + c] = value;
    }
  }
  return hu;
}

export function syntheticCtSeries(options: SyntheticCtOptions = {}): SyntheticCtSeries {
  const rows = options.rows ?? 64;
  const columns = options.columns ?? 64;
  const slices = options.slices ?? 16;
  const pixelSpacing = options.pixelSpacing ?? [0.75, 0.75];
  const sliceSpacing = options.sliceSpacing ?? 2;
  const orientation = options.orientation ?? [1, 0, 0, 0, 1, 0];
  const origin = options.origin ?? [-24, -24, -100];
  const direction = options.sliceDirection ?? -1;
  const normal = sliceNormal(orientation);
  const studyInstanceUid = options.studyInstanceUid ?? newUid();
  const seriesInstanceUid = options.seriesInstanceUid ?? newUid();
  const frameOfReferenceUid = options.frameOfReferenceUid ?? newUid();

  const shear = options.shearMmPerSlice ?? [0, 0];
  const omitted = new Set(options.omitSlices ?? []);
  const indices = Array.from({ length: slices }, (_, index) => index).filter((index) => !omitted.has(index));
  const instances = indices.map((index): SyntheticInstance => {
    const offset = index * sliceSpacing * direction;
    const position = origin.map(
      (o, axis) =>
        o + offset * normal[axis] + index * (shear[0] * orientation[axis] + shear[1] * orientation[3 + axis]),
    ) as Vec3;
    const hu = phantomSlice(rows, columns, slices > 1 ? index / (slices - 1) : 0.5);
    const stored = Uint16Array.from(hu, (value) => value - RESCALE_INTERCEPT);
    const sopInstanceUid = newUid();
    const dataset: Dataset = {
      SpecificCharacterSet: 'ISO_IR 100',
      ImageType: ['ORIGINAL', 'PRIMARY', 'AXIAL'],
      SOPClassUID: SopClass.CtImage,
      SOPInstanceUID: sopInstanceUid,
      StudyDate: '20261127',
      SeriesDate: '20261127',
      ContentDate: '20261127',
      StudyTime: '100000',
      SeriesTime: '100000',
      ContentTime: '100000',
      AccessionNumber: '',
      Modality: 'CT',
      Manufacturer: 'covid-ct-triage synthetic phantom',
      ReferringPhysicianName: '',
      StudyDescription: 'Synthetic chest CT phantom',
      SeriesDescription: options.seriesDescription ?? 'Synthetic axial 2mm',
      PatientName: 'PHANTOM^SYNTHETIC',
      PatientID: options.patientId ?? 'PHANTOM-0001',
      PatientBirthDate: '',
      PatientSex: 'O',
      BodyPartExamined: 'CHEST',
      SliceThickness: sliceSpacing,
      KVP: 120,
      ConvolutionKernel: 'LUNG',
      PatientPosition: direction < 0 ? 'HFS' : 'FFS',
      StudyInstanceUID: studyInstanceUid,
      SeriesInstanceUID: seriesInstanceUid,
      StudyID: '1',
      SeriesNumber: 1,
      AcquisitionNumber: 1,
      InstanceNumber: index + 1,
      ImagePositionPatient: position,
      ImageOrientationPatient: orientation,
      FrameOfReferenceUID: frameOfReferenceUid,
      PositionReferenceIndicator: '',
      SliceLocation: position[2],
      SamplesPerPixel: 1,
      PhotometricInterpretation: 'MONOCHROME2',
      Rows: rows,
      Columns: columns,
      PixelSpacing: pixelSpacing,
      BitsAllocated: 16,
      BitsStored: 12,
      HighBit: 11,
      PixelRepresentation: 0,
      WindowCenter: -600,
      WindowWidth: 1500,
      RescaleIntercept: RESCALE_INTERCEPT,
      RescaleSlope: 1,
      RescaleType: 'HU',
      PixelData: stored,
      ...options.attributes,
    };
    return {
      sopInstanceUid,
      instanceNumber: index + 1,
      position,
      bytes: writePart10(dataset),
      hu,
    };
  });
  return {
    studyInstanceUid,
    seriesInstanceUid,
    frameOfReferenceUid,
    rows,
    columns,
    instances,
  };
}
