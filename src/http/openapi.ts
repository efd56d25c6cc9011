import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';

/** The OpenAPI document is generated from the controllers, served at /openapi.json and browsable at /docs. */
export function mountOpenApi(app: INestApplication): void {
  const document = SwaggerModule.createDocument(app, new DocumentBuilder()
    .setTitle('compliance-ops')
    .setDescription('Exports, erasure with signed receipts, retention purges and single-tenant point-in-time restore ' +
      'for a multi-tenant PostgreSQL SaaS. Errors are `{code, message, details?, requestId}`.')
    .setVersion('1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
    .addSecurityRequirements('bearer')
    .build());
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'openapi.json', raw: ['json'] });
}
