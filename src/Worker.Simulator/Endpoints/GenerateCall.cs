namespace Worker.Simulator.Endpoints;

/// <summary>A validated <c>POST /generate</c> call.</summary>
internal sealed record GenerateCall(string Model, string Prompt, bool Stream, int? MaxTokens, int? SimTokens);
