#!/usr/bin/env bash
# Installs a real Apache Spark + Delta Lake into the project-local virtualenv .venv/ (shared
# with scripts/s3-server-deps.sh), for test/lake/spark.test.ts: pinned pyspark and the
# delta-spark release built for it, then starts Spark once so that Ivy fetches the Delta jars
# from Maven Central into .venv/spark-ivy/ (kept next to the stamp, so the stamp never lies
# about jars that a cleaned ~/.ivy2 no longer has). Idempotent: a second run is a stat.
# Needs Java 17 on PATH. Prints one line on success.
set -euo pipefail
PYSPARK_VERSION=3.5.3
DELTA_VERSION=3.3.2 # delta-spark 3.3.2 is built against Spark 3.5.3

cd "$(dirname "$0")/.."
VENV=.venv
STAMP="$VENV/.spark-$PYSPARK_VERSION-delta-$DELTA_VERSION"
IVY="$VENV/spark-ivy"

if [[ -f "$STAMP" && -x "$VENV/bin/python" ]]; then
  exit 0
fi
start=$(date +%s)

command -v java >/dev/null || { echo "spark-deps: java not found (Spark needs Java 17)" >&2; exit 1; }
if [[ ! -x "$VENV/bin/python" ]]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install -q --disable-pip-version-check "pyspark==$PYSPARK_VERSION" "delta-spark==$DELTA_VERSION"

# Resolve the Delta jars through Spark's own Ivy resolution, once.
log=$(mktemp)
if ! SPARK_DELTA_IVY="$IVY" "$VENV/bin/python" - >"$log" 2>&1 <<'EOF'; then
import os
from delta import configure_spark_with_delta_pip
from pyspark.sql import SparkSession
b = (SparkSession.builder.master("local[1]").appName("certhunt-spark-deps")
     .config("spark.jars.ivy", os.path.abspath(os.environ["SPARK_DELTA_IVY"]))
     .config("spark.ui.enabled", "false")
     .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
     .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog"))
spark = configure_spark_with_delta_pip(b).getOrCreate()
spark.sparkContext.setLogLevel("ERROR")
import shutil, tempfile
d = tempfile.mkdtemp()
try:
    spark.range(3).write.format("delta").save(d + "/t")
    assert spark.read.format("delta").load(d + "/t").count() == 3
finally:
    spark.stop()
    shutil.rmtree(d, ignore_errors=True)
EOF
  cat "$log" >&2
  rm -f "$log"
  echo "spark-deps: starting Spark with Delta failed" >&2
  exit 1
fi
rm -f "$log"
ls "$IVY"/jars/io.delta_delta-spark_2.12-"$DELTA_VERSION".jar >/dev/null

rm -f "$VENV"/.spark-*
touch "$STAMP"
echo "spark-deps: pyspark $PYSPARK_VERSION + delta-spark $DELTA_VERSION ready in $(( $(date +%s) - start ))s"
