# The connector runtime daemon (src/Worker.Runtime) as a container image.
#   docker build -f deploy/docker/runtime.Dockerfile -t llm-worker-runtime .      (context: repository root)
# It listens on a Unix socket in /run/worker-runtime (a volume the worker mounts too). No shell tools are
# needed at run time; the health check only tests that the socket exists.
#
# No "# syntax=" line and no BuildKit-only instructions (RUN --mount, COPY --chmod): the file builds with the
# classic builder too (docker-compose 1.29 builds through the Engine API) and without pulling a frontend image.
# The base images are arguments so that a machine without a registry can build from locally imported images
# (deploy/docker/local-smoke.sh); they must provide `dotnet`, /bin/sh and the APP_UID variable.
ARG SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0
ARG RUNTIME_IMAGE=mcr.microsoft.com/dotnet/runtime:10.0

FROM ${SDK_IMAGE} AS build
ENV DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
WORKDIR /src
# Restore layer: only what restore reads, so it stays cached until a project file or a version changes.
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/Worker.Connector/Worker.Connector.csproj src/Worker.Connector/
COPY src/Worker.Runtime/Worker.Runtime.csproj src/Worker.Runtime/
RUN dotnet restore src/Worker.Runtime/Worker.Runtime.csproj
COPY src/ src/
RUN dotnet publish src/Worker.Runtime/Worker.Runtime.csproj -c Release --no-restore -p:UseAppHost=false -o /app

FROM ${RUNTIME_IMAGE} AS final
# DOTNET_EnableDiagnostics=0: no diagnostic IPC socket, debugger or profiler attach. Nothing is then written
# outside the socket volume, so the container runs with a read-only root file system even without a /tmp
# tmpfs, and there is one less local endpoint. To use dotnet-counters/dotnet-trace, run with
# DOTNET_EnableDiagnostics=1 and a writable /tmp (compose mounts a tmpfs there).
# GC: left at the defaults on purpose. .NET reads the container's cgroup limits (heap hard limit = 75 % of a
# memory limit, processor count = CPU quota), and this console host uses the workstation GC, which suits a
# small I/O-bound daemon. DOTNET_RUNNING_IN_CONTAINER is preset by the base image.
ENV DOTNET_EnableDiagnostics=0 \
    VASTAR_SOCKET_PATH=/run/worker-runtime/runtime.sock
# The socket directory belongs to the unprivileged user. A new named volume mounted here copies this owner
# and mode, so the worker container (same UID) can reach the socket (mode 0660, see Runtime:SocketFileMode).
RUN mkdir -p /run/worker-runtime \
    && chown "$APP_UID:$APP_UID" /run/worker-runtime \
    && chmod 0750 /run/worker-runtime
WORKDIR /app
# Owned by root and not writable by the app user: the application cannot modify itself.
COPY --from=build /app ./
USER $APP_UID
VOLUME ["/run/worker-runtime"]
# Sockets only appear once the runtime is listening, and the runtime removes its socket on a clean stop.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD test -S "$VASTAR_SOCKET_PATH" || exit 1
# SIGTERM (the default stop signal) starts the drain (Runtime:DrainTimeout, 30 s): give `docker stop` /
# compose a longer grace period (compose uses stop_grace_period: 45s).
ENTRYPOINT ["dotnet", "Worker.Runtime.dll"]
