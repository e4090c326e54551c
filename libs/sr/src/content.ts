import { codeItem, formatDecimalString, type Dataset } from '@app/dicom';
import type { SrCode } from './codes.js';

/**
 * SR content items (PS3.3 C.17.3 Document Content Macro, C.18 value types) as
 * datasets for our Part 10 writer. Only the value types the Measurement Report uses.
 */

export type RelationshipType = 'CONTAINS' | 'HAS OBS CONTEXT' | 'HAS CONCEPT MOD' | 'HAS PROPERTIES' | 'INFERRED FROM';

function item(relationship: RelationshipType | undefined, valueType: string, name: SrCode | undefined): Dataset {
  return {
    RelationshipType: relationship,
    ValueType: valueType,
    ConceptNameCodeSequence: name ? [codeItem(name)] : undefined,
  };
}

const withChildren = (dataset: Dataset, children: readonly Dataset[] | undefined): Dataset =>
  children && children.length > 0 ? { ...dataset, ContentSequence: children } : dataset;

export function container(
  relationship: RelationshipType | undefined,
  name: SrCode,
  children: readonly Dataset[],
  template?: string,
): Dataset {
  return withChildren(
    {
      ...item(relationship, 'CONTAINER', name),
      ContinuityOfContent: 'SEPARATE',
      ContentTemplateSequence: template ? [{ MappingResource: 'DCMR', TemplateIdentifier: template }] : undefined,
    },
    children,
  );
}

export function codeContent(
  relationship: RelationshipType,
  name: SrCode,
  value: SrCode,
  children?: readonly Dataset[],
): Dataset {
  return withChildren({ ...item(relationship, 'CODE', name), ConceptCodeSequence: [codeItem(value)] }, children);
}

export function textContent(relationship: RelationshipType, name: SrCode, value: string): Dataset {
  if (value.length === 0) throw new Error(`TEXT content item ${name.meaning} needs a value`);
  return { ...item(relationship, 'TEXT', name), TextValue: value };
}

export function uidrefContent(relationship: RelationshipType, name: SrCode, uid: string): Dataset {
  return { ...item(relationship, 'UIDREF', name), UID: uid };
}

/**
 * A NUM item. The value goes in Numeric Value (DS, at most 16 characters) and, at full
 * double precision, in Floating Point Value (PS3.3 C.18.1: allowed whenever present,
 * required when the DS loses precision), as highdicom writes it.
 */
export function numContent(
  relationship: RelationshipType,
  name: SrCode,
  value: number,
  unit: SrCode,
  children?: readonly Dataset[],
): Dataset {
  return withChildren(
    {
      ...item(relationship, 'NUM', name),
      MeasuredValueSequence: [
        {
          MeasurementUnitsCodeSequence: [codeItem(unit)],
          FloatingPointValue: value,
          NumericValue: formatDecimalString(value),
        },
      ],
    },
    children,
  );
}

/** An IMAGE item; for a SEG, the segment numbers it refers to (all of the object's if none). */
export function imageContent(
  relationship: RelationshipType,
  name: SrCode | undefined,
  reference: { sopClassUid: string; sopInstanceUid: string; segmentNumbers?: readonly number[] },
): Dataset {
  return {
    ...item(relationship, 'IMAGE', name),
    ReferencedSOPSequence: [
      {
        ReferencedSOPClassUID: reference.sopClassUid,
        ReferencedSOPInstanceUID: reference.sopInstanceUid,
        ReferencedSegmentNumber: reference.segmentNumbers,
      },
    ],
  };
}
