import { Injectable } from '@nestjs/common';
import { CatalogDatabase } from '../db/databases';
import { RequestsRepository } from './requests.repository';

/** The requests repository as Nest injects it, on the catalog pool. */
@Injectable()
export class Requests extends RequestsRepository {
  constructor(catalog: CatalogDatabase) {
    super(catalog.pool);
  }
}
