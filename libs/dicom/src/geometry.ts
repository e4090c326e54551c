/** Small vector helpers for patient-space geometry (LPS, millimetres). */
export type Vec3 = [number, number, number];

export const dot = (a: readonly number[], b: readonly number[]) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];

export function cross(a: readonly number[], b: readonly number[]): Vec3 {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}

export function norm(a: readonly number[]): number {
  return Math.hypot(a[0], a[1], a[2]);
}

/** The slice normal (rows × columns) of an ImageOrientationPatient, unit length. */
export function sliceNormal(orientation: readonly number[]): Vec3 {
  const n = cross(orientation.slice(0, 3), orientation.slice(3, 6));
  const length = norm(n);
  return [n[0] / length, n[1] / length, n[2] / length];
}

export function sameOrientation(a: readonly number[], b: readonly number[], tolerance = 1e-3): boolean {
  return a.length === 6 && b.length === 6 && a.every((value, i) => Math.abs(value - b[i]) <= tolerance);
}
