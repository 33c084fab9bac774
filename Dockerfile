# syntax=docker/dockerfile:1
# sfqb on the official Airflow image: the multi-machine path (docker-compose.yaml, Helm chart).
# See docs/multi-machine.md. Build: `docker compose build` (or `docker build -t sfqb-airflow .`).
#
# Python 3.11, like the single-machine install (.venv) and CI, so both run the same interpreter.
FROM apache/airflow:3.3.2-python3.11

USER airflow

# 1. sfqb's own pins: requirements.txt, with every transitive package pinned by constraints.txt
#    (the same two files `make install` uses, so the image runs what the tests ran, including
#    `make test-distributed`). requirements.txt names the distributed topology's providers too:
#    apache-airflow-providers-celery (CeleryExecutor), -postgres and psycopg2-binary (metadata DB).
#    apache-airflow is named with its version so that pip can never move it.
COPY --chown=airflow:0 requirements.txt constraints.txt /opt/sfqb/
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" \
        -r /opt/sfqb/requirements.txt --constraint /opt/sfqb/constraints.txt

# 2. The package itself (include/sfqb), the sandbox servers and the simulation (their own
#    distribution, include/pyproject.toml: the compose file's sandbox profile runs them from this
#    image) and the SFDX metadata the sandbox reads (include/salesforce). Editable, so that
#    docker-compose can mount ./include over /opt/sfqb/include during development; --no-deps:
#    everything is pinned above.
COPY --chown=airflow:0 pyproject.toml README.md airflow_settings.yaml /opt/sfqb/
COPY --chown=airflow:0 include /opt/sfqb/include
RUN pip install --no-cache-dir --no-deps -e /opt/sfqb -e /opt/sfqb/include

# 3. Check at build time that the image holds exactly the versions requirements.txt pins.
RUN python - /opt/sfqb/requirements.txt <<'EOF'
import re, sys
from importlib.metadata import version
wrong = []
for line in open(sys.argv[1]):
    m = re.match(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?==([^\s;#]+)", line.strip())
    if m and version(m.group(1)) != m.group(3):
        wrong.append(f"{m.group(1)}: {version(m.group(1))} installed, {m.group(3)} pinned")
sys.exit("\n".join(wrong) or None)
EOF

# 4. The DAGs and the plugins baked in (a Kubernetes deployment can run the image as it is); the
#    compose file mounts ./dags and ./plugins over them. plugins/sfqb_sync_log.py (the Sync log
#    page) imports the sfqb package installed above, so the api-server finds both in the image.
COPY --chown=airflow:0 dags /opt/airflow/dags
COPY --chown=airflow:0 plugins /opt/airflow/plugins

# 5. Mount points of the named volumes: a new volume takes the owner and mode of the image's
#    directory, so any AIRFLOW_UID with group 0 (the official image's convention) can write.
USER root
RUN mkdir -p /opt/airflow/xcom /opt/sandbox \
    && chown airflow:0 /opt/airflow/xcom /opt/sandbox \
    && chmod 2775 /opt/airflow/xcom /opt/sandbox
USER airflow

ENV SFQB_SALESFORCE_METADATA=/opt/sfqb/include/salesforce
