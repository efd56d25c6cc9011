import { z } from 'zod';

export const ExportDownloadSchema = z.object({
  url: z.url().describe('the manifest, presigned: the object that proves the export complete'),
  expiresAt: z.string().describe('ISO 8601 time; links live 15 minutes'),
  objects: z.array(z.object({ key: z.string(), url: z.url() })).describe('every object of the export, presigned (still encrypted)'),
});
