import { z } from 'zod';

export const ExportDownloadSchema = z.object({
  url: z.url().describe('the manifest, presigned: the object that proves the export complete'),
  expiresAt: z.string().describe('ISO 8601 time; links live 15 minutes'),
  objects: z.array(z.object({ key: z.string(), url: z.url() })).describe('every object of the export, presigned (still encrypted)'),
}).meta({
  example: {
    url: 'https://exports.s3.eu-west-2.amazonaws.com/tenants/2b7e1516-28ae-4d2a-a6ab-f7158809cf4f/exports/6f1c3a52-1f0e-4a8e-9d53-0c6f4f1b2a11/manifest.json.esdk?X-Amz-Expires=900&X-Amz-Signature=…',
    expiresAt: '2025-01-01T12:15:00.000Z',
    objects: [{
      key: 'tenants/2b7e1516-28ae-4d2a-a6ab-f7158809cf4f/exports/6f1c3a52-1f0e-4a8e-9d53-0c6f4f1b2a11/tables/users.csv.part-00000.gz.esdk',
      url: 'https://exports.s3.eu-west-2.amazonaws.com/tenants/2b7e1516-28ae-4d2a-a6ab-f7158809cf4f/exports/6f1c3a52-1f0e-4a8e-9d53-0c6f4f1b2a11/tables/users.csv.part-00000.gz.esdk?X-Amz-Expires=900&X-Amz-Signature=…',
    }],
  },
});
