using Flotilla.Server;

var app = FlotillaServer.Build(args);
await app.RunAsync();
