Console.WriteLine("Flotilla benchmarks: see bench/README.md");
