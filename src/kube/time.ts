/** A Kubernetes timestamp (metav1.Time): RFC 3339 in whole seconds, UTC, as the API server writes them. */
export const kubeTime = (date: Date): string => date.toISOString().replace(/\.\d+Z$/, 'Z');
