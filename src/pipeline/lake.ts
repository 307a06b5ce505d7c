import type { DuckDBConnection } from '@duckdb/node-api';
import { joinLocation, storageFor } from '../lake/location.js';
import { DeltaTable, type TableOptions } from '../lake/table.js';

/** The certhunt lake: Delta tables at <lake>/<layer>/<name>, opened once per run. */
export type Layer = 'bronze' | 'silver' | 'gold';

export class Lake {
  readonly location: string;
  readonly conn: DuckDBConnection;
  private readonly options: TableOptions;
  private readonly tables = new Map<string, DeltaTable>();

  constructor(location: string, conn: DuckDBConnection, options: TableOptions = {}) {
    this.location = location;
    this.conn = conn;
    this.options = options;
  }

  async table(layer: Layer, name: string): Promise<DeltaTable> {
    const key = `${layer}/${name}`;
    let t = this.tables.get(key);
    if (!t) {
      t = new DeltaTable(await storageFor(joinLocation(this.location, layer, name)), this.conn, this.options);
      this.tables.set(key, t);
    }
    return t;
  }
}
