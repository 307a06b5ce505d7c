"""Real Apache Spark + Delta Lake on the other side of test/lake/spark.test.ts.

Runs pyspark with delta-spark from the project's .venv/ (scripts/spark-deps.sh), local[2],
session time zone UTC, no UI, quiet logs. Subcommands:

  read PATH [VERSION]        rows of a Delta table as JSON lines (sorted), in the wire form below
  write KIND PATH            create one of the Spark-side tables (KINDS below)
  batch SPEC.json OUT.json   everything one test needs in one JVM start: writes, then reads,
                             Spark's own reads of checkpoint files, and data-skipping checks

Wire form (what both sides of the test normalise to, one value per Delta type):
  integers, decimals -> decimal string; float/double -> repr string ('NaN', 'Infinity', ...);
  boolean -> bool; binary -> lowercase hex; date -> 'YYYY-MM-DD';
  timestamp -> 'YYYY-MM-DDTHH:MM:SS.ffffffZ' (UTC); timestamp_ntz -> same without 'Z';
  array -> list; struct -> object; map -> list of [key, value]; null -> null.
"""
import glob
import json
import math
import os
import sys
import time
import traceback
from decimal import Decimal

os.environ["TZ"] = "UTC"  # pyspark turns timestamps into naive datetimes in the local zone
time.tzset()

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
IVY = os.path.join(ROOT, ".venv", "spark-ivy")


def spark_session():
    from pyspark.sql import SparkSession

    # C1 only and no whole-stage codegen: this JVM lives for a minute, so compiling for peak
    # speed costs more than it saves (a 2-core machine ran the batch in 70 s instead of 270 s).
    jvm_opts = "-Duser.timezone=UTC -XX:TieredStopAtLevel=1 -XX:+UseSerialGC " + os.environ.get("SPARK_RT_JVM", "")
    b = (
        SparkSession.builder.master("local[2]")
        .appName("certhunt-spark-roundtrip")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.extraJavaOptions", jvm_opts)
        .config("spark.executor.extraJavaOptions", jvm_opts)
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.databricks.delta.snapshotPartitions", "2")
        .config("spark.sql.codegen.wholeStage", "false")
        .config("spark.sql.adaptive.enabled", "false")
        .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
        .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
    )
    for k, v in json.loads(os.environ.get("SPARK_RT_CONF", "{}")).items():  # for experiments
        b = b.config(k, v)
    jars = sorted(glob.glob(os.path.join(IVY, "jars", "*.jar")))
    if jars:
        # The jars scripts/spark-deps.sh resolved: no Ivy resolution (nor network) per start.
        b = b.config("spark.jars", ",".join(jars))
    else:
        from delta import configure_spark_with_delta_pip

        b = configure_spark_with_delta_pip(b.config("spark.jars.ivy", IVY))
    spark = b.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


# ---------------------------------------------------------------- wire form

def wire(v, t):
    from pyspark.sql import types as T

    if v is None:
        return None
    if isinstance(t, T.StringType):
        return v
    if isinstance(t, (T.LongType, T.IntegerType, T.ShortType, T.ByteType)):
        return str(v)
    if isinstance(t, T.DecimalType):
        return format(Decimal(v), "f")
    if isinstance(t, (T.FloatType, T.DoubleType)):
        x = float(v)
        if math.isnan(x):
            return "NaN"
        if math.isinf(x):
            return "Infinity" if x > 0 else "-Infinity"
        return repr(x)
    if isinstance(t, T.BooleanType):
        return bool(v)
    if isinstance(t, T.BinaryType):
        return bytes(v).hex()
    if isinstance(t, T.DateType):
        return "%04d-%02d-%02d" % (v.year, v.month, v.day)
    if isinstance(t, (T.TimestampType, T.TimestampNTZType)):
        s = "%04d-%02d-%02dT%02d:%02d:%02d.%06d" % (v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond)
        return s + "Z" if isinstance(t, T.TimestampType) else s
    if isinstance(t, T.ArrayType):
        return [wire(x, t.elementType) for x in v]
    if isinstance(t, T.StructType):
        return {f.name: wire(v[i], f.dataType) for i, f in enumerate(t.fields)}
    if isinstance(t, T.MapType):
        return [[wire(k, t.keyType), wire(x, t.valueType)] for k, x in v.items()]
    raise TypeError("no wire form for %s" % t)


def read_table(spark, path, version=None, conf=None):
    """Rows in wire form. `conf`: session settings for this read only, e.g. another
    spark.sql.session.timeZone (the wire form stays UTC: it shows the instants Spark understood)."""
    r = spark.read.format("delta")
    if version is not None:
        r = r.option("versionAsOf", int(version))
    saved = {k: spark.conf.get(k, None) for k in (conf or {})}
    for k, v in (conf or {}).items():
        spark.conf.set(k, v)
    try:
        df = r.load(path)
        collected = df.collect()
    finally:
        for k, v in saved.items():
            if v is None:
                spark.conf.unset(k)
            else:
                spark.conf.set(k, v)
    rows = [{f.name: wire(row[i], f.dataType) for i, f in enumerate(df.schema.fields)} for row in collected]
    rows.sort(key=lambda x: json.dumps(x, sort_keys=True))
    return {"schema": df.schema.jsonValue(), "rows": rows}


# ---------------------------------------------------------------- Spark-side tables

def sql_path(path):
    return "delta.`%s`" % path.replace("`", "``")


def write_plain(spark, path):
    """Every Delta type, written by Spark's own Parquet writer (INT96 timestamps by default)."""
    ddl = (
        "id long, s string, i int, sh short, b byte, f float, d double, dec decimal(10,2), "
        "big decimal(38,0), flag boolean, bin binary, dt date, ts timestamp, arr array<int>, "
        "arr_s array<string>, st struct<a:int,b:string,inner:struct<x:double,ys:array<long>>>, "
        "m map<string,int>, arr_st array<struct<k:string,v:long>>, m_arr map<int,array<string>>"
    )
    q1 = """SELECT * FROM VALUES
      (1L, 'hello', 1, 2S, 3Y, 1.5F, 2.25D, 12.34BD, 12345678901234567890123456789012345678BD, true,
       X'00FF10', DATE'2024-02-29', TIMESTAMP'2024-01-02 03:04:05.678901', array(1,2,null),
       array('a', null, ''), named_struct('a', 7, 'b', 'x', 'inner', named_struct('x', 0.5D, 'ys', array(1L, 2L))),
       map('k1', 1, 'k2', null), array(named_struct('k', 'a', 'v', 1L)), map(1, array('p', 'q'))),
      (2L, 'ünïcödé ✓ and a string longer than thirty-two chars', -2147483648, -32768S, -128Y,
       CAST('NaN' AS FLOAT), CAST('-Infinity' AS DOUBLE), -99999999.99BD, -1BD, false, X'',
       DATE'1970-01-01', TIMESTAMP'1969-12-31 23:59:59.999999', array(), array(), named_struct('a', null, 'b', null, 'inner', null),
       map(), array(), map())
    AS v(id, s, i, sh, b, f, d, dec, big, flag, bin, dt, ts, arr, arr_s, st, m, arr_st, m_arr)"""
    q2 = """SELECT * FROM VALUES
      (3L, '', 2147483647, 32767S, 127Y, CAST('Infinity' AS FLOAT), -0.0D, 0.01BD, 0BD, null,
       X'DEADBEEF', DATE'9999-12-31', TIMESTAMP'9999-12-31 23:59:59.999999', array(0), array('z'),
       named_struct('a', 1, 'b', 'y', 'inner', named_struct('x', null, 'ys', null)), map('a', 0),
       array(named_struct('k', null, 'v', null)), map(2, null)),
      (4L, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null)
    AS v(id, s, i, sh, b, f, d, dec, big, flag, bin, dt, ts, arr, arr_s, st, m, arr_st, m_arr)"""
    spark.sql("CREATE TABLE %s (%s) USING delta" % (sql_path(path), ddl))
    for q in (q1, q2):
        spark.sql("INSERT INTO %s %s" % (sql_path(path), q))


def write_ntz(spark, path):
    spark.sql("CREATE TABLE %s (id long, ntz timestamp_ntz) USING delta" % sql_path(path))
    spark.sql(
        "INSERT INTO %s VALUES (1, TIMESTAMP_NTZ'2024-01-02 03:04:05.678901'), (2, TIMESTAMP_NTZ'1900-01-01 00:00:00'), (3, null)"
        % sql_path(path)
    )


def write_part_ts(spark, path):
    """Partitioned by a timestamp (and a string with characters that need escaping)."""
    spark.sql("CREATE TABLE %s (id long, ts timestamp, p string, v string) USING delta PARTITIONED BY (ts, p)" % sql_path(path))
    spark.sql(
        """INSERT INTO %s VALUES
        (1, TIMESTAMP'2024-01-01 10:00:00', 'a:b', 'one'),
        (2, TIMESTAMP'2024-01-01 10:00:00.123456', '100%%', 'two'),
        (3, TIMESTAMP'1969-12-31 23:59:59.999999', 'x y', 'three'),
        (4, null, 'k=v', 'four'),
        (5, TIMESTAMP'2024-06-30 23:59:59.5', null, 'five'),
        (6, TIMESTAMP'2024-01-01 10:00:00', 'a/b', 'six')"""
        % sql_path(path)
    )
    spark.sql("INSERT INTO %s VALUES (7, TIMESTAMP'2024-01-01 10:00:00', 'a:b', 'seven'), (8, null, null, 'eight')" % sql_path(path))


def write_dml(spark, path):
    """DELETE, UPDATE and MERGE rewrite files (copy-on-write: deletion vectors off)."""
    spark.range(0, 40).selectExpr("id", "concat('v', id) AS v", "CAST(id % 4 AS INT) AS grp").repartition(4).write.format(
        "delta"
    ).option("delta.enableDeletionVectors", "false").save(path)
    t = sql_path(path)
    spark.sql("DELETE FROM %s WHERE id %% 5 = 0" % t)
    spark.sql("UPDATE %s SET v = upper(v) WHERE id < 10" % t)
    spark.sql(
        """MERGE INTO %s t USING (SELECT id, concat('m', id) AS v, CAST(id %% 4 AS INT) AS grp FROM range(35, 46)) s
        ON t.id = s.id
        WHEN MATCHED AND s.id = 36 THEN DELETE
        WHEN MATCHED THEN UPDATE SET v = s.v
        WHEN NOT MATCHED THEN INSERT *"""
        % t
    )


def write_ckpt(spark, path):
    """25 commits with a checkpoint every 10, each checkpoint split in parts of at most 4 actions."""
    t = sql_path(path)
    spark.conf.set("spark.databricks.delta.checkpoint.partSize", "4")
    try:
        spark.sql(
            "CREATE TABLE %s (id long, p int, v string) USING delta PARTITIONED BY (p) TBLPROPERTIES ('delta.checkpointInterval' = '10')" % t
        )
        for k in range(1, 25):
            if k == 13:
                spark.sql("DELETE FROM %s WHERE p = 1" % t)
            else:
                p = "null" if k % 4 == 3 else str(k % 4)
                spark.sql("INSERT INTO %s VALUES (%d, %s, 'row %d')" % (t, k, p, k))
    finally:
        spark.conf.unset("spark.databricks.delta.checkpoint.partSize")


def write_dv(spark, path):
    """Deletion vectors from DELETE, UPDATE and MERGE; a checkpoint that carries them; more after it."""
    t = sql_path(path)
    spark.range(0, 2000).selectExpr("id", "concat('v', id) AS v").repartition(2).write.format("delta").option(
        "delta.enableDeletionVectors", "true"
    ).save(path)
    spark.sql("DELETE FROM %s WHERE id %% 7 = 0" % t)
    spark.sql("UPDATE %s SET v = 'updated' WHERE id %% 11 = 0" % t)
    spark.sql(
        """MERGE INTO %s t USING (SELECT id, 'merged' AS v FROM range(1990, 2010)) s ON t.id = s.id
        WHEN MATCHED THEN UPDATE SET v = s.v WHEN NOT MATCHED THEN INSERT *"""
        % t
    )
    jvm = spark._jvm
    jvm.org.apache.spark.sql.delta.DeltaLog.forTable(spark._jsparkSession, path).checkpoint()
    spark.sql("DELETE FROM %s WHERE id %% 13 = 0" % t)


def write_colmap(spark, path):
    """Column mapping (name mode): renames of a top-level, a nested and a partition column; a drop."""
    t = sql_path(path)
    spark.sql(
        """CREATE TABLE %s (id long, name string, st struct<a:int, b:string>, gone string, part string)
        USING delta PARTITIONED BY (part)
        TBLPROPERTIES ('delta.columnMapping.mode' = 'name', 'delta.minReaderVersion' = '2', 'delta.minWriterVersion' = '5')"""
        % t
    )
    spark.sql(
        "INSERT INTO %s VALUES (1, 'one', named_struct('a', 1, 'b', 'x'), 'g1', 'p1'), (2, 'two', null, 'g2', null)" % t
    )
    spark.sql("ALTER TABLE %s RENAME COLUMN name TO full_name" % t)
    spark.sql("ALTER TABLE %s RENAME COLUMN st.a TO alpha" % t)
    spark.sql("ALTER TABLE %s RENAME COLUMN part TO region" % t)
    spark.sql("ALTER TABLE %s DROP COLUMN gone" % t)
    spark.sql("ALTER TABLE %s ADD COLUMNS (extra int)" % t)
    spark.sql("INSERT INTO %s (id, full_name, st, region, extra) VALUES (3, 'three', named_struct('alpha', 3, 'b', 'z'), 'p1', 42)" % t)


def write_v2(spark, path):
    """A table whose checkpoints are v2 (table feature v2Checkpoint): certhunt must refuse it."""
    t = sql_path(path)
    spark.sql("CREATE TABLE %s (id long) USING delta TBLPROPERTIES ('delta.checkpointPolicy' = 'v2')" % t)
    spark.sql("INSERT INTO %s VALUES (1), (2)" % t)
    spark._jvm.org.apache.spark.sql.delta.DeltaLog.forTable(spark._jsparkSession, path).checkpoint()
    spark.sql("INSERT INTO %s VALUES (3)" % t)


KINDS = {
    "plain": write_plain,
    "ntz": write_ntz,
    "part_ts": write_part_ts,
    "dml": write_dml,
    "ckpt": write_ckpt,
    "dv": write_dv,
    "colmap": write_colmap,
    "v2": write_v2,
}


# ---------------------------------------------------------------- checks

def read_checkpoint_file(spark, path):
    """Spark reading a checkpoint Parquet file as plain Parquet: each action row as JSON."""
    df = spark.read.parquet(path)
    return {"columns": df.columns, "actions": [json.loads(j) for j in df.toJSON().collect()]}


def spark_files(spark, path):
    """The live files Spark's own log replay finds (DeltaLog.update().allFiles)."""
    from pyspark.sql import DataFrame

    jvm = spark._jvm
    log = jvm.org.apache.spark.sql.delta.DeltaLog.forTable(spark._jsparkSession, path)
    snap = log.update(False, jvm.scala.Option.empty(), jvm.scala.Option.empty())
    df = DataFrame(snap.allFiles().toDF(), spark)
    files = [json.loads(j) for j in df.select("path", "partitionValues", "size", "deletionVector").toJSON().collect()]
    cp = None
    try:
        cp = int(snap.logSegment().checkpointProvider().version())
    except Exception:  # noqa: BLE001 - only informative
        cp = None
    return {"version": int(snap.version()), "checkpointVersion": cp, "files": sorted(files, key=lambda f: f["path"])}


def skipping_mismatches(spark, path):
    """Data skipping with the table's stats (and partition pruning) must never drop a matching
    row: for each primitive column, `col = v` at the column's min and max, and `col IS NULL`,
    must count what a full read counts. All probes run as one job (a union of filtered scans,
    each pruned on its own)."""
    from functools import reduce

    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    df = spark.read.format("delta").load(path)
    rows = df.collect()
    probes = []  # (label, condition, expected count)
    for i, f in enumerate(df.schema.fields):
        if isinstance(f.dataType, (T.ArrayType, T.StructType, T.MapType, T.BinaryType)):
            continue
        c = F.col("`%s`" % f.name)
        vals = sorted({r[i] for r in rows if r[i] is not None and not (isinstance(r[i], float) and math.isnan(r[i]))})
        for v in {vals[0], vals[-1]} if vals else set():
            want = sum(1 for r in rows if r[i] is not None and r[i] == v)
            probes.append(("%s = %r" % (f.name, v), c == F.lit(v).cast(f.dataType), want))
        probes.append(("%s IS NULL" % f.name, c.isNull(), sum(1 for r in rows if r[i] is None)))
    if not probes:
        return []
    parts = [df.filter(cond).select(F.lit(k).alias("probe")) for k, (_, cond, _) in enumerate(probes)]
    got = {r["probe"]: r["n"] for r in reduce(lambda a, b: a.unionAll(b), parts).groupBy("probe").agg(F.count(F.lit(1)).alias("n")).collect()}
    out = []
    for k, (label, _, want) in enumerate(probes):
        if got.get(k, 0) != want:
            out.append("%s: Spark returned %d rows, a full read has %d" % (label, got.get(k, 0), want))
    return out


def guarded(fn, *args):
    t0 = time.time()
    try:
        return {"ok": fn(*args), "seconds": round(time.time() - t0, 1)}
    except Exception as e:  # noqa: BLE001 - reported to the test, which fails on it
        msg = str(e).strip().split("\n")
        return {
            "error": "%s: %s" % (type(e).__name__, "\n".join(msg[:6])),
            "trace": traceback.format_exc()[-4000:],
            "seconds": round(time.time() - t0, 1),
        }


def batch(spec_file, out_file):
    spec = json.load(open(spec_file))
    t0 = time.time()
    spark = spark_session()
    out = {"startSeconds": round(time.time() - t0, 1), "writes": {}, "reads": {}, "checkpoints": {}, "files": {}, "skipping": {}}
    for w in spec.get("writes", []):
        out["writes"][w["name"]] = guarded(lambda: KINDS[w["kind"]](spark, w["path"]) or True)
    spark._jvm.org.apache.spark.sql.delta.DeltaLog.clearCache()
    for r in spec.get("reads", []):
        out["reads"][r["name"]] = guarded(read_table, spark, r["path"], r.get("version"), r.get("conf"))
    for c in spec.get("checkpoints", []):
        out["checkpoints"][c["name"]] = guarded(read_checkpoint_file, spark, c["path"])
    for f in spec.get("files", []):
        out["files"][f["name"]] = guarded(spark_files, spark, f["path"])
    for s in spec.get("skipping", []):
        out["skipping"][s["name"]] = guarded(skipping_mismatches, spark, s["path"])
    out["totalSeconds"] = round(time.time() - t0, 1)
    spark.stop()
    with open(out_file, "w") as fh:
        json.dump(out, fh)


def main(argv):
    if len(argv) >= 2 and argv[0] == "read":
        spark = spark_session()
        res = read_table(spark, argv[1], argv[2] if len(argv) > 2 else None)
        for row in res["rows"]:
            print(json.dumps(row, sort_keys=True))
        spark.stop()
    elif len(argv) == 3 and argv[0] == "write" and argv[1] in KINDS:
        spark = spark_session()
        KINDS[argv[1]](spark, argv[2])
        spark.stop()
    elif len(argv) == 3 and argv[0] == "batch":
        batch(argv[1], argv[2])
    else:
        print(__doc__, file=sys.stderr)
        print("kinds: " + ", ".join(KINDS), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
