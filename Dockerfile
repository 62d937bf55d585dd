# The gateway worker image (used by docker-compose.yml). RocksDB tables via rocksdict.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY streams ./streams
COPY schemas ./schemas
RUN pip install --no-cache-dir -e '.[rocksdb]'  # editable: schemas/ and examples/ stay beside the package
ENV MSGGATE_STORE=rocksdb:// MSGGATE_DATA_DIR=/data MSGGATE_WEB_PORT=6066
EXPOSE 6066
ENTRYPOINT ["msggate"]
CMD ["worker"]
