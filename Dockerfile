# modelci's container image: modelci, modelci-service and the pinned ONNX Runtime library beside
# them, on a slim Debian, running as a non-root user.
#
#   docker build -t modelci .
#   docker run --rm -v "$PWD:/work" modelci check --config modelci.toml
#
# The working folder is /work; the entry point is modelci (`docker run IMAGE doctor`, ...).

# --- Build: both binaries in release mode, and ONNX Runtime fetched (checked against its pinned
# SHA-256) by scripts/onnxruntime.
FROM rust:1-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p modelci -p modelci-service \
 && scripts/onnxruntime \
 && mkdir -p /out/bin /out/onnxruntime \
 && cp target/release/modelci target/release/modelci-service /out/bin/ \
 && cp -R target/onnxruntime/. /out/onnxruntime/

# --- Runtime: modelci finds /opt/modelci/onnxruntime/lib beside its own bin/ folder.
FROM debian:bookworm-slim
# ca-certificates: the system's roots beside modelci's built-in ones; git: `contract diff
# --base-ref`; libstdc++6: ONNX Runtime.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates git libstdc++6 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 10001 --user-group modelci \
 && mkdir /work \
 && chown modelci:modelci /work
COPY --from=build /out/ /opt/modelci/
COPY LICENSE README.md CHANGELOG.md /opt/modelci/
ENV PATH=/opt/modelci/bin:$PATH
USER modelci
WORKDIR /work
ENTRYPOINT ["modelci"]
CMD ["--help"]
