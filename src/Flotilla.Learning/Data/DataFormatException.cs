namespace Flotilla.Learning.Data;

/// <summary>A CSV that cannot become a <see cref="Table"/>; the message names the file, line and column.</summary>
public sealed class DataFormatException : Exception
{
    public DataFormatException(string message) : base(message) { }

    public DataFormatException(string message, Exception inner) : base(message, inner) { }

    public DataFormatException() { }
}
