/** SOP Class UIDs the project reads or writes (PS3.4 B.5). */
export const SopClass = {
  CtImage: '1.2.840.10008.5.1.4.1.1.2',
  EnhancedCtImage: '1.2.840.10008.5.1.4.1.1.2.1',
} as const;
