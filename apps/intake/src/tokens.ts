/** Injection tokens of the intake's adapters (tests replace them through IntakeModule.forRoot's overrides). */
export const INTAKE_CONFIG = Symbol('IntakeConfig');
export const NOTIFICATION_SOURCE = Symbol('NotificationSource');
export const SERIES_INDEX = Symbol('StudySeriesIndex');
export const INTAKE_METRICS = Symbol('IntakeMetrics');
