using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Flotilla.Fleet.Models;

/// <summary>
/// Where a front door sends a call for a model its own silo does not hold. Each model has a home: the silo with
/// the highest rendezvous hash of (model, silo) among the active members this door does not suspect, so every
/// door agrees on it without asking anyone and a model has one copy until it is hot. A call whose silo fails, or
/// that outlives its attempt limit, marks that silo suspect and goes to the model's next silo (possibly this one,
/// which loads it from the artifact store) within the invocation's deadline: callers see latency, not errors,
/// while membership is still deciding. A suspicion also releases every other call still waiting on that silo, so
/// the calls caught in flight by a kill retry as soon as one call learns of it instead of each waiting out its
/// limit. A model called more than <see cref="FleetOptions.HotModelCallsPerSecond"/> times a second through this
/// door gets a copy on this silo; from then on the door scores it locally (<see cref="LocalModels"/>) and this
/// class no longer sees its calls.
/// </summary>
public sealed partial class ModelRouter
{
    private readonly IGrainFactory _grains;
    private readonly IClusterMembershipService _membership;
    private readonly SiloAddress _self;
    private readonly FleetOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<ModelRouter> _logger;
    private readonly ConcurrentDictionary<string, Route> _routes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<SiloAddress, long> _suspectedUntil = new();
    private readonly ConcurrentDictionary<SiloAddress, CancellationTokenSource> _releaseOnSuspicion = new();
    private readonly Lock _viewLock = new();
    private View? _view;
    private int _suspicions;

    public ModelRouter(
        IGrainFactory grains, IClusterMembershipService membership, ILocalSiloDetails silo, IOptions<FleetOptions> options,
        TimeProvider time, ILogger<ModelRouter> logger)
    {
        _grains = grains;
        _membership = membership;
        _self = silo.SiloAddress;
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    /// <summary>The silo this door would send <paramref name="artifactSha256"/>'s calls to now.</summary>
    public SiloAddress HomeOf(string artifactSha256) => RouteFor(artifactSha256).Home;

    /// <summary>
    /// Loads the model on its home silo (the deployer's pre-warm, so the first call after an alias moves is a hit)
    /// and on the next <see cref="FleetOptions.StandbyCopies"/> silos of its ranking, where its calls go if the home
    /// fails: a failover then waits for no load. The home's state is the answer; a standby that fails is only logged.
    /// </summary>
    public async Task<ModelState> WarmAsync(string artifactSha256, CancellationToken cancellationToken)
    {
        var ranked = CurrentView().Ranked(artifactSha256);
        var home = await RouteFor(artifactSha256).Grain.WarmAsync(cancellationToken);
        if (home.Loaded)
        {
            foreach (var standby in ranked.Skip(1).Take(_options.StandbyCopies))
            {
                try
                {
                    var state = await _grains.GetGrain<IModelGrain>(ModelKey.On(artifactSha256, standby)).WarmAsync(cancellationToken);
                    if (!state.Loaded)
                    {
                        LogStandbyRefused(artifactSha256, standby.ToString(), state.Error ?? state.Outcome.ToString());
                    }
                }
                catch (Exception e) when (e is OrleansException or TimeoutException)
                {
                    LogStandbyRefused(artifactSha256, standby.ToString(), e.Message);
                }
            }
        }
        return home;
    }

    public async Task<InvocationResult> InvokeAsync(string artifactSha256, InvocationRequest request)
    {
        var started = _time.GetTimestamp();
        var route = RouteFor(artifactSha256);
        CountCall(artifactSha256, route, started);
        while (true)
        {
            var left = _options.InvocationTimeout - _time.GetElapsedTime(started);
            if (left <= TimeSpan.Zero)
            {
                return TimedOut(artifactSha256);
            }
            var attempt = route.Home.Equals(_self) || left < _options.InvocationAttemptTimeout ? left : _options.InvocationAttemptTimeout;
            try
            {
                // The grain call itself takes no token (the hot path stays token-free, docs/decisions.md): the caller
                // stops waiting; a late answer is dropped by Orleans.
                return await route.Grain.InvokeAsync(request).WaitAsync(attempt, _time, route.HomeSuspected);
            }
            catch (Exception e) when (e is OrleansException or TimeoutException or OperationCanceledException)
            {
                if (route.Home.Equals(_self))
                {
                    // Nowhere better to go than this silo itself: it is loading, overloaded or stopping.
                    LogLocalFailed(artifactSha256, e.GetType().Name);
                    return TimedOut(artifactSha256);
                }
                Suspect(route.Home, artifactSha256, e);
                route = RouteFor(artifactSha256);
            }
        }
    }

    private InvocationResult TimedOut(string artifactSha256) => InvocationResult.Failed(InvocationOutcome.TimedOut,
        $"No silo answered for model {artifactSha256} within {_options.InvocationTimeout.TotalSeconds:0.###} s " +
        "(a silo was lost or the fleet is overloaded); retry after the interval in Retry-After.");

    /// <summary>Counts this door's calls in one-second windows; past the threshold, a copy is loaded on this silo once.</summary>
    private void CountCall(string artifactSha256, Route route, long now)
    {
        if (_options.HotModelCallsPerSecond == 0 || route.Home.Equals(_self))
        {
            return;
        }
        if (_time.GetElapsedTime(Volatile.Read(ref route.WindowStart), now) >= TimeSpan.FromSeconds(1))
        {
            // Racy on purpose: a call counted in the wrong window only moves the decision by one call.
            Volatile.Write(ref route.WindowStart, now);
            Volatile.Write(ref route.Calls, 0);
        }
        if (Interlocked.Increment(ref route.Calls) > _options.HotModelCallsPerSecond && Interlocked.CompareExchange(ref route.Copying, 1, 0) == 0)
        {
            _ = CopyHereAsync(artifactSha256, route);
        }
    }

    private async Task CopyHereAsync(string artifactSha256, Route route)
    {
        try
        {
            var state = await _grains.GetGrain<IModelGrain>(ModelKey.On(artifactSha256, _self)).WarmAsync();
            if (state.Loaded)
            {
                LogCopied(artifactSha256, _options.HotModelCallsPerSecond, route.Home.ToString());
                return;
            }
            LogCopyRefused(artifactSha256, state.Error ?? state.Outcome.ToString());
        }
        catch (Exception e) when (e is OrleansException or TimeoutException)
        {
            LogCopyRefused(artifactSha256, e.Message);
        }
        // Not copied: the next window past the threshold tries again.
        Volatile.Write(ref route.Copying, 0);
    }

    private void Suspect(SiloAddress silo, string artifactSha256, Exception e)
    {
        var now = _time.GetTimestamp();
        var alreadySuspected = _suspectedUntil.TryGetValue(silo, out var until) && until > now;
        _suspectedUntil[silo] = now + (long)(_options.SuspectSiloFor.TotalSeconds * _time.TimestampFrequency);
        Interlocked.Increment(ref _suspicions);
        if (_releaseOnSuspicion.TryRemove(silo, out var waiting))
        {
            // Off this thread: the released calls retry elsewhere, and this one should not run their retries inline.
            _ = waiting.CancelAsync();
        }
        if (!alreadySuspected)
        {
            LogSuspected(silo.ToString(), artifactSha256, e.GetType().Name, e.Message);
        }
    }

    private Route RouteFor(string artifactSha256)
    {
        var view = CurrentView();
        if (_routes.TryGetValue(artifactSha256, out var route) && ReferenceEquals(route.View, view))
        {
            return route;
        }
        var home = view.HomeOf(artifactSha256);
        var suspected = home.Equals(_self) ? CancellationToken.None : _releaseOnSuspicion.GetOrAdd(home, _ => new CancellationTokenSource()).Token;
        route = new Route(view, home, _grains.GetGrain<IModelGrain>(ModelKey.On(artifactSha256, home)), suspected, _time.GetTimestamp());
        _routes[artifactSha256] = route;
        return route;
    }

    /// <summary>The active silos not suspected, rebuilt only when membership or a suspicion changed.</summary>
    private View CurrentView()
    {
        var snapshot = _membership.CurrentSnapshot;
        var view = Volatile.Read(ref _view);
        var suspicions = Volatile.Read(ref _suspicions);
        if (view is not null && view.Version == snapshot.Version && view.Suspicions == suspicions &&
            (view.SuspicionEnds == long.MaxValue || _time.GetTimestamp() < view.SuspicionEnds))
        {
            return view;
        }
        lock (_viewLock)
        {
            var now = _time.GetTimestamp();
            var ends = long.MaxValue;
            foreach (var (silo, until) in _suspectedUntil)
            {
                if (until <= now)
                {
                    _suspectedUntil.TryRemove(new KeyValuePair<SiloAddress, long>(silo, until));
                }
                else
                {
                    ends = Math.Min(ends, until);
                }
            }
            List<SiloAddress> silos = [_self];
            foreach (var member in snapshot.Members.Values)
            {
                if (member.Status == SiloStatus.Active && !member.SiloAddress.Equals(_self) && !_suspectedUntil.ContainsKey(member.SiloAddress))
                {
                    silos.Add(member.SiloAddress);
                }
            }
            foreach (var silo in _releaseOnSuspicion.Keys)
            {
                if (!silos.Contains(silo))
                {
                    _releaseOnSuspicion.TryRemove(silo, out _);
                }
            }
            view = new View(snapshot.Version, suspicions, ends, [.. silos]);
            Volatile.Write(ref _view, view);
            return view;
        }
    }

    private sealed class View
    {
        private readonly SiloAddress[] _silos;
        private readonly ulong[] _hashes;

        public View(MembershipVersion version, int suspicions, long suspicionEnds, SiloAddress[] silos)
        {
            Version = version;
            Suspicions = suspicions;
            SuspicionEnds = suspicionEnds;
            _silos = silos;
            _hashes = [.. silos.Select(s => Fnv(s.ToParsableString()))];
        }

        public MembershipVersion Version { get; }

        public int Suspicions { get; }

        public long SuspicionEnds { get; }

        /// <summary>Every silo, the model's home first, then where it goes if the home fails, and so on.</summary>
        public IReadOnlyList<SiloAddress> Ranked(string artifactSha256)
        {
            var model = Fnv(artifactSha256);
            return [.. _silos.Select((silo, i) => (silo, Score: Mix(model ^ _hashes[i]))).OrderByDescending(s => s.Score).Select(s => s.silo)];
        }

        /// <summary>Rendezvous hashing: the highest score wins, and losing one silo moves only the models it was home to.</summary>
        public SiloAddress HomeOf(string artifactSha256)
        {
            var model = Fnv(artifactSha256);
            var best = 0;
            var bestScore = 0UL;
            for (var i = 0; i < _silos.Length; i++)
            {
                var score = Mix(model ^ _hashes[i]);
                if (i == 0 || score > bestScore)
                {
                    (best, bestScore) = (i, score);
                }
            }
            return _silos[best];
        }

        // Stable across processes (string.GetHashCode is randomised per process): every door must agree.
        private static ulong Fnv(string text)
        {
            var hash = 14695981039346656037UL;
            foreach (var c in text)
            {
                hash = (hash ^ c) * 1099511628211UL;
            }
            return hash;
        }

        private static ulong Mix(ulong x)
        {
            x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9UL;
            x = (x ^ (x >> 27)) * 0x94d049bb133111ebUL;
            return x ^ (x >> 31);
        }
    }

    private sealed class Route(View view, SiloAddress home, IModelGrain grain, CancellationToken homeSuspected, long windowStart)
    {
        internal long WindowStart = windowStart;
        internal int Calls;
        internal int Copying;

        public View View { get; } = view;

        public SiloAddress Home { get; } = home;

        public IModelGrain Grain { get; } = grain;

        /// <summary>Cancelled when any call suspects <see cref="Home"/> (never for this silo itself).</summary>
        public CancellationToken HomeSuspected { get; } = homeSuspected;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Silo {Silo} failed a call for model {Sha256} ({Error}: {Message}); its calls go to other silos while it is suspected")]
    private partial void LogSuspected(string silo, string sha256, string error, string message);

    [LoggerMessage(Level = LogLevel.Warning, Message = "This silo failed a call for model {Sha256} ({Error}) before the invocation's deadline")]
    private partial void LogLocalFailed(string sha256, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {Sha256} is hot (over {Threshold} calls a second through this door, home {Home}): a copy is loaded on this silo")]
    private partial void LogCopied(string sha256, int threshold, string home);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The standby copy of model {Sha256} on silo {Silo} was not loaded: {Reason}")]
    private partial void LogStandbyRefused(string sha256, string silo, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A local copy of hot model {Sha256} was not made: {Reason}")]
    private partial void LogCopyRefused(string sha256, string reason);
}
