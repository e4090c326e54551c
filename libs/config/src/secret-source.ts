/** A secret given inline (KAFKA_SASL_PASSWORD) or as a mounted file (…_FILE, the Kubernetes Secret convention). */
export type SecretSource = { value: string } | { file: string };
