# The OpenAI-compatible simulator (src/Worker.Simulator) as a container image, listening on port 4545.
#   docker build -f deploy/docker/simulator.Dockerfile -t llm-worker-simulator .  (context: repository root)
# See runtime.Dockerfile for why there is no "# syntax=" line and why the base images are arguments.
ARG SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0
ARG ASPNET_IMAGE=mcr.microsoft.com/dotnet/aspnet:10.0

FROM ${SDK_IMAGE} AS build
ENV DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/Worker.Simulator/Worker.Simulator.csproj src/Worker.Simulator/
RUN dotnet restore src/Worker.Simulator/Worker.Simulator.csproj
COPY src/ src/
RUN dotnet publish src/Worker.Simulator/Worker.Simulator.csproj -c Release --no-restore -p:UseAppHost=false -o /app

FROM ${ASPNET_IMAGE} AS final
# DOTNET_EnableDiagnostics=0: see runtime.Dockerfile (read-only root file system, no diagnostic endpoint).
# GC: the Web SDK selects the server GC; .NET 9+ runs it with DATAS (dynamic heap count), which keeps the
# footprint small in a container, so no GC settings are forced here.
# ASPNETCORE_HTTP_PORTS=4545 binds http://*:4545 (the official image sets 8080); same as --urls http://0.0.0.0:4545.
ENV DOTNET_EnableDiagnostics=0 \
    ASPNETCORE_HTTP_PORTS=4545
WORKDIR /app
COPY --from=build /app ./
USER $APP_UID
EXPOSE 4545
# The image has neither curl nor wget: bash's /dev/tcp sends GET /health and expects "HTTP/1.1 200".
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/4545 && printf 'GET /health HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
ENTRYPOINT ["dotnet", "Worker.Simulator.dll"]
