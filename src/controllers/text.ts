/** Text from Databricks often ends with a period; strip it before we continue the sentence. */
export const clause = (text: string): string => text.trim().replace(/[.\s]+$/, '');
