using System.Runtime.Versioning;

// The deployment targets Linux (containers, systemd); so do these tests and the tools they run.
[assembly: SupportedOSPlatform("linux")]
