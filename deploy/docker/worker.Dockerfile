# The worker (src/Worker.Host) as a container image: consumes llm.jobs, publishes to llm.results.
#   docker build -f deploy/docker/worker.Dockerfile -t llm-worker .               (context: repository root)
# Default command `run`; the other CLI commands work too: docker compose run --rm worker enqueue ...
# See runtime.Dockerfile for why there is no "# syntax=" line and why the base images are arguments.
ARG SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0
ARG RUNTIME_IMAGE=mcr.microsoft.com/dotnet/runtime:10.0

FROM ${SDK_IMAGE} AS build
ENV DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
WORKDIR /src
# Restore layer. Worker.Runtime's project file is copied as well: the worker can host the runtime in-process
# (Runtime:Embedded) and may reference it.
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/Worker.Connector/Worker.Connector.csproj src/Worker.Connector/
COPY src/Worker.Runtime/Worker.Runtime.csproj src/Worker.Runtime/
COPY src/Worker.Host/Worker.Host.csproj src/Worker.Host/
RUN dotnet restore src/Worker.Host/Worker.Host.csproj
COPY src/ src/
# Worker.Host ships the repository-root appsettings.json next to its binary.
COPY appsettings.json ./
RUN dotnet publish src/Worker.Host/Worker.Host.csproj -c Release --no-restore -p:UseAppHost=false -o /app

FROM ${RUNTIME_IMAGE} AS final
# DOTNET_EnableDiagnostics=0 and GC defaults: see runtime.Dockerfile.
ENV DOTNET_EnableDiagnostics=0
# Where the runtime's socket volume is mounted (compose: Runtime__Embedded=false,
# Runtime__SocketPath=/run/worker-runtime/runtime.sock). Owned by the app user in case this container is the
# first to mount a new volume, or hosts the runtime itself (Runtime:Embedded=true).
RUN mkdir -p /run/worker-runtime \
    && chown "$APP_UID:$APP_UID" /run/worker-runtime \
    && chmod 0750 /run/worker-runtime
# WORKDIR holds appsettings.json, so it is also the host's content root.
WORKDIR /app
COPY --from=build /app ./
USER $APP_UID
# The worker serves no port. Healthy = it holds an established AMQP connection (port 5672, or 5671 for
# amqps): /proc/net/tcp* list the container's own sockets, "01" is ESTABLISHED, 1628/1627 are the ports in hex.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD grep -Eqs '^ *[0-9]+: [0-9A-F]+:[0-9A-F]+ [0-9A-F]+:(1628|1627) 01 ' /proc/net/tcp /proc/net/tcp6 || exit 1
# SIGTERM starts the drain (Worker:DrainTimeout, 30 s): compose gives it stop_grace_period: 45s.
ENTRYPOINT ["dotnet", "Worker.Host.dll"]
CMD ["run"]
