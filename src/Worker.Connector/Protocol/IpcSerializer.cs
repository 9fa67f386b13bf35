using System.Runtime.InteropServices;
using System.Text;
using Google.FlatBuffers;
using Fbs = Worker.Connector.Protocol.Generated;

namespace Worker.Connector.Protocol;

/// <summary>
/// Converts between our message records and their FlatBuffers payloads (generated code does the binary format).
/// Readers treat the payload as hostile: any out-of-range offset or missing required field becomes a
/// <see cref="ProtocolException"/>, never another exception type.
/// </summary>
public static partial class IpcSerializer
{
    /// <summary>Writes an ExecuteRequest into <paramref name="builder"/> (cleared first) and finishes it.</summary>
    public static void Write(FlatBufferBuilder builder, ExecuteRequestMessage message)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(message);
        builder.Clear();
        var headers = default(VectorOffset);
        if (message.Headers.Count > 0)
        {
            var offsets = new Offset<Fbs.KeyValue>[message.Headers.Count];
            for (var i = 0; i < offsets.Length; i++)
            {
                var (key, value) = message.Headers[i];
                offsets[i] = Fbs.KeyValue.CreateKeyValue(builder, builder.CreateString(key), builder.CreateString(value));
            }

            headers = Fbs.ExecuteRequest.CreateHeadersVector(builder, offsets);
        }

        var payload = CreateBytes(builder, message.Payload);
        var operation = builder.CreateString(message.Operation);
        var connector = builder.CreateString(message.ConnectorName);
        var trace = message.TraceId is null ? default : builder.CreateString(message.TraceId);
        var workspace = message.WorkspaceId is null ? default : builder.CreateString(message.WorkspaceId);
        var tenant = builder.CreateString(message.TenantId);

        Fbs.ExecuteRequest.StartExecuteRequest(builder);
        Fbs.ExecuteRequest.AddRequestId(builder, message.RequestId);
        Fbs.ExecuteRequest.AddDeadlineAtMs(builder, message.DeadlineAtMs);
        Fbs.ExecuteRequest.AddTenantId(builder, tenant);
        if (message.WorkspaceId is not null)
        {
            Fbs.ExecuteRequest.AddWorkspaceId(builder, workspace);
        }

        if (message.TraceId is not null)
        {
            Fbs.ExecuteRequest.AddTraceId(builder, trace);
        }

        Fbs.ExecuteRequest.AddConnectorName(builder, connector);
        Fbs.ExecuteRequest.AddOperation(builder, operation);
        Fbs.ExecuteRequest.AddPayload(builder, payload);
        if (message.Headers.Count > 0)
        {
            Fbs.ExecuteRequest.AddHeaders(builder, headers);
        }

        builder.Finish(Fbs.ExecuteRequest.EndExecuteRequest(builder).Value);
    }

    /// <summary>Writes an ExecuteResponse into <paramref name="builder"/> (cleared first) and finishes it.</summary>
    public static void Write(FlatBufferBuilder builder, ExecuteResponseMessage message)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(message);
        builder.Clear();
        var payload = CreateBytes(builder, message.Payload);
        var error = message.ErrorMessage is null ? default : builder.CreateString(message.ErrorMessage);
        Fbs.ExecuteResponse.StartExecuteResponse(builder);
        Fbs.ExecuteResponse.AddRequestId(builder, message.RequestId);
        Fbs.ExecuteResponse.AddDurationUs(builder, message.DurationUs);
        if (message.ErrorMessage is not null)
        {
            Fbs.ExecuteResponse.AddErrorMessage(builder, error);
        }

        Fbs.ExecuteResponse.AddPayload(builder, payload);
        Fbs.ExecuteResponse.AddErrorClass(builder, (Fbs.ErrorClass)message.ErrorClass);
        builder.Finish(Fbs.ExecuteResponse.EndExecuteResponse(builder).Value);
    }

    /// <summary>Writes an empty HealthCheck table.</summary>
    public static void WriteHealthCheck(FlatBufferBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Clear();
        Fbs.HealthCheck.StartHealthCheck(builder);
        builder.Finish(Fbs.HealthCheck.EndHealthCheck(builder).Value);
    }

    public static void Write(FlatBufferBuilder builder, HealthCheckResponseMessage message)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(message);
        builder.Clear();
        var text = message.Message is null ? default : builder.CreateString(message.Message);
        Fbs.HealthCheckResponse.StartHealthCheckResponse(builder);
        if (message.Message is not null)
        {
            Fbs.HealthCheckResponse.AddMessage(builder, text);
        }

        Fbs.HealthCheckResponse.AddActiveRequests(builder, message.ActiveRequests);
        Fbs.HealthCheckResponse.AddAvailableCredits(builder, message.AvailableCredits);
        Fbs.HealthCheckResponse.AddHealthy(builder, message.Healthy);
        builder.Finish(Fbs.HealthCheckResponse.EndHealthCheckResponse(builder).Value);
    }

    public static void Write(FlatBufferBuilder builder, CreditUpdateMessage message)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(message);
        builder.Clear();
        Fbs.CreditUpdate.StartCreditUpdate(builder);
        Fbs.CreditUpdate.AddCreditDelta(builder, message.CreditDelta);
        Fbs.CreditUpdate.AddTotalCredits(builder, message.TotalCredits);
        builder.Finish(Fbs.CreditUpdate.EndCreditUpdate(builder).Value);
    }

    /// <summary>The finished bytes of <paramref name="builder"/> (valid until it is cleared).</summary>
    public static ArraySegment<byte> Finished(FlatBufferBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var buffer = builder.DataBuffer;
        return buffer.ToArraySegment(buffer.Position, buffer.Length - buffer.Position);
    }

    /// <summary>Reads an ExecuteRequest. The request id is reported on the exception when it could be read.</summary>
    public static ExecuteRequestMessage ReadExecuteRequest(byte[] buffer, int length)
    {
        ulong? requestId = null;
        try
        {
            var table = Fbs.ExecuteRequest.GetRootAsExecuteRequest(Wrap(buffer, length));
            requestId = table.RequestId;
            // Each entry takes at least a 4-byte offset: a count the payload cannot hold is hostile, and must not
            // turn into a huge allocation.
            if (table.HeadersLength < 0 || table.HeadersLength > length / sizeof(int))
            {
                throw new ProtocolException($"headers claims {table.HeadersLength} entries in a {length}-byte payload.") { RequestId = requestId };
            }

            var headers = new KeyValuePair<string, string>[table.HeadersLength];
            for (var i = 0; i < headers.Length; i++)
            {
                var kv = table.Headers(i) ?? throw Missing("headers[" + i + "]", requestId);
                headers[i] = new(kv.Key ?? throw Missing("headers[" + i + "].key", requestId),
                    kv.Value ?? throw Missing("headers[" + i + "].value", requestId));
            }

            return new ExecuteRequestMessage
            {
                RequestId = table.RequestId,
                TenantId = table.TenantId ?? throw Missing("tenant_id", requestId),
                WorkspaceId = table.WorkspaceId,
                TraceId = table.TraceId,
                ConnectorName = table.ConnectorName ?? throw Missing("connector_name", requestId),
                Operation = table.Operation ?? throw Missing("operation", requestId),
                DeadlineAtMs = table.DeadlineAtMs,
                Payload = CopyBytes(table.GetPayloadBytes()),
                Headers = headers,
            };
        }
        catch (Exception ex) when (IsDecodeFailure(ex))
        {
            throw Invalid("ExecuteRequest", ex, requestId);
        }
    }

    public static ExecuteResponseMessage ReadExecuteResponse(byte[] buffer, int length)
    {
        ulong? requestId = null;
        try
        {
            var table = Fbs.ExecuteResponse.GetRootAsExecuteResponse(Wrap(buffer, length));
            requestId = table.RequestId;
            return new ExecuteResponseMessage
            {
                RequestId = table.RequestId,
                ErrorClass = (ErrorClass)table.ErrorClass,
                ErrorMessage = table.ErrorMessage,
                Payload = CopyBytes(table.GetPayloadBytes()),
                DurationUs = table.DurationUs,
            };
        }
        catch (Exception ex) when (IsDecodeFailure(ex))
        {
            throw Invalid("ExecuteResponse", ex, requestId);
        }
    }

    public static HealthCheckResponseMessage ReadHealthCheckResponse(byte[] buffer, int length)
    {
        try
        {
            var table = Fbs.HealthCheckResponse.GetRootAsHealthCheckResponse(Wrap(buffer, length));
            return new HealthCheckResponseMessage(table.Healthy, table.Message, table.ActiveRequests, table.AvailableCredits);
        }
        catch (Exception ex) when (IsDecodeFailure(ex))
        {
            throw Invalid("HealthCheckResponse", ex, null);
        }
    }

    public static CreditUpdateMessage ReadCreditUpdate(byte[] buffer, int length)
    {
        try
        {
            var table = Fbs.CreditUpdate.GetRootAsCreditUpdate(Wrap(buffer, length));
            return new CreditUpdateMessage(table.CreditDelta, table.TotalCredits);
        }
        catch (Exception ex) when (IsDecodeFailure(ex))
        {
            throw Invalid("CreditUpdate", ex, null);
        }
    }

    private static ByteBuffer Wrap(byte[] buffer, int length)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        if (length < sizeof(int))
        {
            throw new ProtocolException($"Payload of {length} bytes is too short to be a FlatBuffer.");
        }

        return new ByteBuffer(new PayloadAllocator(buffer, length), 0);
    }

    private static VectorOffset CreateBytes(FlatBufferBuilder builder, ReadOnlyMemory<byte> bytes)
    {
        var segment = MemoryMarshal.TryGetArray(bytes, out var s) ? s : new ArraySegment<byte>(bytes.ToArray());
        builder.StartVector(1, segment.Count, 1);
        if (segment.Count > 0)
        {
            builder.Add(segment);
        }

        return builder.EndVector();
    }

    private static byte[] CopyBytes(ArraySegment<byte>? segment) =>
        segment is { Count: > 0 } s ? s.AsSpan().ToArray() : [];

    // Hostile offsets surface as range/argument/overflow errors from the FlatBuffers reader, and invalid
    // UTF-8 in strings is replaced, not thrown; everything else is a bug and must propagate.
    private static bool IsDecodeFailure(Exception ex) =>
        ex is ArgumentException or IndexOutOfRangeException or OverflowException or InvalidOperationException
            or DecoderFallbackException;

    private static ProtocolException Missing(string field, ulong? requestId) =>
        new($"Required field '{field}' is missing.") { RequestId = requestId };

    private static ProtocolException Invalid(string table, Exception ex, ulong? requestId) =>
        ex as ProtocolException ?? new ProtocolException($"Payload is not a valid {table} FlatBuffer: {ex.Message}", ex) { RequestId = requestId };
}
