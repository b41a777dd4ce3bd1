// The JSON the pages read, one spelling per field: typedefs of the Flotilla.Contracts records (server and CLI
// share them). OpenApiContractsTests checks every property here against /openapi/v1.json (or, for the open JSON
// of an evaluation report, against the record the Evaluate step writes), so a renamed field fails a test
// instead of a page. Dates are ISO 8601 strings; a `| null` field is always present, possibly null.

/**
 * The 202 answer of a start: the execution runs on.
 * @typedef {Object} ExecutionStarted
 * @property {string} executionId
 * @property {string} pipeline
 * @property {'Executing' | 'Stopping' | 'Stopped' | 'Failed' | 'Succeeded'} status
 */

/**
 * An execution as listed: no steps.
 * @typedef {Object} ExecutionSummary
 * @property {string} id
 * @property {string} pipeline
 * @property {'Executing' | 'Stopping' | 'Stopped' | 'Failed' | 'Succeeded'} status
 * @property {Record<string, any>} parameters
 * @property {string} createdAt
 * @property {string | null} endedAt
 * @property {string | null} failureReason
 */

/**
 * One step of an execution. CachedFrom names the execution whose outputs were reused.
 * @typedef {Object} ExecutionStep
 * @property {string} name
 * @property {string} type
 * @property {'Pending' | 'Executing' | 'Succeeded' | 'Failed' | 'Stopped' | 'Skipped'} status
 * @property {number} attempts
 * @property {string | null} startedAt
 * @property {string | null} endedAt
 * @property {Record<string, any> | null} outputs
 * @property {string | null} log
 * @property {string | null} failureReason
 * @property {string | null} cachedFrom
 */

/**
 * An execution with its steps, in definition order.
 * @typedef {Object} ExecutionDetail
 * @property {string} id
 * @property {string} pipeline
 * @property {'Executing' | 'Stopping' | 'Stopped' | 'Failed' | 'Succeeded'} status
 * @property {Record<string, any>} parameters
 * @property {string} createdAt
 * @property {string | null} endedAt
 * @property {string | null} failureReason
 * @property {ExecutionStep[]} steps
 */

/**
 * A finished tuning trial. Planned is how many trials the tuner planned in all when this one finished (fewer than MaxTuningJobs for a small grid): what progress counts to. Null for trials recorded before it was kept. Silo is the fleet silo that ran it (null when nothing ran it: stopped before a silo answered).
 * @typedef {Object} ExecutionTrial
 * @property {string} step
 * @property {number} number
 * @property {string} algorithm
 * @property {any | null} parameters
 * @property {number[]} foldScores
 * @property {number | null} score
 * @property {'Complete' | 'Pruned' | 'Failed'} status
 * @property {number} seconds
 * @property {number | null} planned
 * @property {string | null} reason
 * @property {string | null} silo
 */

/**
 * One server-sent event of `GET /api/executions/{id}/events`; Type is also the SSE event name: `snapshot` (with Execution), `step`, `trial` (with Trial) or `execution`.
 * @typedef {Object} ExecutionEvent
 * @property {string} type
 * @property {string} executionId
 * @property {string | null} step
 * @property {string | null} status
 * @property {string | null} message
 * @property {ExecutionTrial | null} trial
 * @property {ExecutionDetail | null} execution
 */

/**
 * The outputs of a `Tune` step that clients read (the rest of its outputs are files and the best trial). Silos: where that run of the step sent its trials (absent on steps run before it was kept; empty when trials ran in the server process alone).
 * @typedef {Object} TuneOutputs
 * @property {number | null} planned
 * @property {TuneSilo[]} [silos]
 */

/**
 * A fleet silo in a Tune step's run: its cores (trial slots), how many trials it ran, and why it took no part (leftOut: it did not say its cores in time) or stopped taking part (lost: it died mid-run; its trials ran again elsewhere).
 * @typedef {Object} TuneSilo
 * @property {string} silo
 * @property {number} cores
 * @property {number} trials
 * @property {string | null} leftOut
 * @property {string | null} lost
 */

/**
 * The outputs of a `Register` step.
 * @typedef {Object} RegisterOutputs
 * @property {string} packageId
 * @property {string} group
 * @property {number} version
 * @property {'PendingManualApproval' | 'Approved' | 'Rejected'} approvalStatus
 * @property {string} artifactSha256
 */

/**
 * The type of a pipeline parameter.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ParameterType>))]
public enum ParameterType { String, Int, Float, Bool, Enum, List, Json } <summary>A typed parameter of a pipeline; no Default means the parameter is required.
 * @typedef {Object} PipelineParameter
 * @property {string} name
 * @property {'String' | 'Int' | 'Float' | 'Bool' | 'Enum' | 'List' | 'Json'} type
 * @property {any | null} default
 * @property {number | null} min
 * @property {number | null} max
 * @property {boolean} exclusiveMin
 * @property {boolean} exclusiveMax
 * @property {string[] | null} values
 * @property {string[] | null} aliases
 * @property {string | null} description
 */

/**
 * A step of a definition: its name, type, the steps it waits for and the step as its author wrote it.
 * @typedef {Object} PipelineStep
 * @property {string} name
 * @property {string} type
 * @property {string[]} dependsOn
 * @property {any} definition
 */

/**
 * A pipeline definition as `/api/pipelines` shows it; Source (the text as posted) only when one pipeline is asked for.
 * @typedef {Object} Pipeline
 * @property {string} name
 * @property {string | null} description
 * @property {boolean} builtIn
 * @property {string} updatedAt
 * @property {PipelineParameter[]} parameters
 * @property {PipelineStep[]} steps
 * @property {string | null} source
 */

/**
 * @typedef {Object} DatasetColumn
 * @property {string} name
 * @property {string} kind
 * @property {number} missing
 * @property {string[]} categories
 */

/**
 * A registered dataset: where its CSV is (relative to the data folder when uploaded), its label, and what reading it found.
 * @typedef {Object} Dataset
 * @property {string} name
 * @property {string} path
 * @property {string | null} target null: registered for scoring only
 * @property {string[]} exclude
 * @property {string} sha256
 * @property {number} sizeBytes
 * @property {number} rowCount
 * @property {DatasetColumn[]} columns
 * @property {Record<string, number>} labelBalance
 * @property {string} createdAt
 * @property {string} updatedAt
 */

/**
 * Why a version started or stopped serving: approved, its successor rejected, or pinned through the API.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<DeploymentReason>))]
public enum DeploymentReason { Approval, Rejection, Manual } <summary>All versions of one model: made on the first registration of a pipeline on a dataset.
 * @typedef {Object} PackageGroup
 * @property {string} name
 * @property {number} latestVersion
 * @property {number} approvedCount
 * @property {string} createdAt
 */

/**
 * Which run made a package: the pipeline execution, its Register step and the dataset's content hash.
 * @typedef {Object} PackageLineage
 * @property {string | null} executionId
 * @property {string | null} stepName
 * @property {string | null} datasetHash
 */

/**
 * Stored content: its SHA-256, size and location (relative to its store, absolute when recorded before 2026-12-01).
 * @typedef {Object} ArtifactReference
 * @property {string} sha256
 * @property {number} size
 * @property {string} uri
 */

/**
 * One immutable model version of a group, with its evaluation report (the Evaluate step's report as stored; EvaluationSummary reads its headline) and the parameters it was trained with.
 * @typedef {Object} Package
 * @property {string} id
 * @property {string} group
 * @property {number} version
 * @property {ArtifactReference} artifact
 * @property {any} evaluationReport
 * @property {any} parameters
 * @property {PackageLineage} lineage
 * @property {'PendingManualApproval' | 'Approved' | 'Rejected'} approvalStatus
 * @property {string | null} approvalDescription
 * @property {string | null} statusChangedBy
 * @property {string | null} statusChangedAt
 * @property {string} createdAt
 */

/**
 * A package in a listing: everything but the full evaluation report, whose top-level numbers are kept as metrics.
 * @typedef {Object} PackageSummary
 * @property {string} id
 * @property {string} group
 * @property {number} version
 * @property {'PendingManualApproval' | 'Approved' | 'Rejected'} approvalStatus
 * @property {string | null} approvalDescription
 * @property {string | null} statusChangedBy
 * @property {string | null} statusChangedAt
 * @property {string} createdAt
 * @property {string} artifactSha256
 * @property {Record<string, number>} metrics
 * @property {PackageLineage} lineage
 */

/**
 * One interval during which a version served a group's name.
 * @typedef {Object} DeploymentRecord
 * @property {string} group
 * @property {number} sequence
 * @property {string} packageId
 * @property {number} version
 * @property {string} artifactSha256
 * @property {'Approval' | 'Rejection' | 'Manual' | 'Canary' | 'Rollback'} reason
 * @property {string} from
 * @property {string | null} to
 * @property {'Approval' | 'Rejection' | 'Manual' | null} endReason
 */

/**
 * An attempt to deploy a version that failed (its model would not load), so the alias stayed where it was.
 * @typedef {Object} DeploymentFailure
 * @property {string} group
 * @property {string} packageId
 * @property {number} version
 * @property {string} artifactSha256
 * @property {'Approval' | 'Rejection' | 'Manual' | 'Canary' | 'Rollback'} reason
 * @property {string} at
 * @property {string} error
 */

/**
 * The body of `GET /api/endpoint`: aliases, instances, the models they hold and the fleet's totals.
 * @typedef {Object} EndpointView
 * @property {AliasView[]} aliases
 * @property {InstanceView[]} instances
 * @property {ModelView[]} models
 * @property {EndpointTotals} totals
 * @property {AutoscalerView | null} autoscaler
 * @property {ShadowView[] | null} shadows
 * @property {CanaryRollout[] | null} rollouts
 */

/**
 * An alias; for a split, Routes lists every version with its weight (Version is the heaviest); Shadow is the version
 * scoring copies of its calls, when it has one.
 * @typedef {Object} AliasView
 * @property {string} group
 * @property {string} packageId
 * @property {number} version
 * @property {string} artifactSha256
 * @property {string} deployedAt
 * @property {Route[] | null} routes
 * @property {string | null} stickyHeader
 * @property {ShadowRoute | null} shadow
 */

/**
 * A version (approved or still pending) that sees a copy of Percent % of a group's calls; it never answers.
 * @typedef {Object} ShadowRoute
 * @property {number} version
 * @property {string} packageId
 * @property {string} artifactSha256
 * @property {number} percent
 */

/**
 * A shadow version's comparison with the answers its group gave, summed over every silo.
 * @typedef {Object} ShadowView
 * @property {string} group
 * @property {number} version
 * @property {number | null} primaryVersion
 * @property {number} calls
 * @property {number} dropped
 * @property {number} scored
 * @property {number} failed
 * @property {number} rows
 * @property {number} agreement
 * @property {number} meanProbabilityDifference
 * @property {number} p50ProbabilityDifference
 * @property {number} p99ProbabilityDifference
 * @property {number} p50LatencyMilliseconds
 * @property {number} p99LatencyMilliseconds
 */

/**
 * A canary's plan: the percent steps of the calls, how long each bakes, and the rules that roll it back.
 * @typedef {Object} RolloutPlan
 * @property {number[]} steps
 * @property {number} bakeSeconds
 * @property {number} minCalls
 * @property {number} maxErrorRateIncrease
 * @property {number} maxP99Ratio
 * @property {number} maxAucDrop
 * @property {number} minLabelledAnswers
 * @property {number} minP99IncreaseMilliseconds
 */

/**
 * A step's comparison of the new version with the previous one, and its verdict.
 * @typedef {Object} CanaryComparison
 * @property {number} stepPercent
 * @property {'Waiting' | 'Healthy' | 'Worse'} verdict
 * @property {string} summary
 * @property {number} canaryCalls
 * @property {number} canaryErrorRate
 * @property {number} canaryP99Milliseconds
 * @property {number} previousCalls
 * @property {number} previousErrorRate
 * @property {number} previousP99Milliseconds
 * @property {number | null} canaryAuc
 * @property {number | null} previousAuc
 * @property {string} at
 */

/**
 * One canary rollout of a group's version: plan, state, current step, the latest comparison and why it ended.
 * @typedef {Object} CanaryRollout
 * @property {string} group
 * @property {number} version
 * @property {string} packageId
 * @property {number | null} previousVersion
 * @property {RolloutPlan} plan
 * @property {'Planned' | 'Running' | 'RollingBack' | 'Succeeded' | 'RolledBack' | 'Cancelled'} state
 * @property {number} stepIndex
 * @property {string | null} stepStartedAt
 * @property {string | null} reason
 * @property {CanaryComparison | null} comparison
 * @property {string} createdBy
 * @property {string} createdAt
 * @property {string} updatedAt
 * @property {number} stepPercent
 * @property {boolean} active
 */

/**
 * One approved version of a split alias and its share of the calls (weight out of the routes' total).
 * @typedef {Object} Route
 * @property {number} version
 * @property {string} packageId
 * @property {string} artifactSha256
 * @property {number} weight
 */

/**
 * @typedef {Object} InstanceView
 * @property {string} silo
 * @property {number} modelsLoaded
 * @property {number} bytesInUse
 * @property {number} budgetBytes
 * @property {LoadedView[]} models
 * @property {string | null} error
 */

/**
 * @typedef {Object} LoadedView
 * @property {string} artifactSha256
 * @property {number} bytes
 */

/**
 * @typedef {Object} ModelView
 * @property {string} artifactSha256
 * @property {string[]} groups
 * @property {string[]} loadedOn
 * @property {number} hits
 * @property {number} misses
 * @property {number} loads
 * @property {number} loadFailures
 * @property {number} evictions
 * @property {number} lastLoadMilliseconds
 * @property {number} invocations
 * @property {number} meanLatencyMilliseconds
 * @property {number} p50LatencyMilliseconds
 * @property {number} p99LatencyMilliseconds
 * @property {number} failures
 */

/**
 * @typedef {Object} EndpointTotals
 * @property {number} instances
 * @property {number} modelsLoaded
 * @property {number} bytesInUse
 * @property {number} budgetBytes
 * @property {number} hits
 * @property {number} misses
 * @property {number} loads
 * @property {number} evictions
 */

/**
 * The autoscaler's latest decision; absent when it is off or has not decided yet.
 * @typedef {Object} AutoscalerView
 * @property {number} current
 * @property {number} desired
 * @property {number} ratePerInstance
 * @property {string} reason
 * @property {string} at
 */

/**
 * A group's alias: the version it names, with the split when there is one.
 * @typedef {Object} Deployment
 * @property {string} group
 * @property {string} packageId
 * @property {number} version
 * @property {string} artifactSha256
 * @property {string} deployedAt
 * @property {number} revision
 * @property {TrafficPolicy | null} policy
 */

/**
 * @typedef {Object} TrafficPolicy
 * @property {Route[]} routes
 * @property {string | null} stickyHeader
 * @property {ShadowRoute | null} shadow
 */

/**
 * The answer of a pin or split: what is deployed now (Changed false when it already was).
 * @typedef {Object} DeploymentOutcome
 * @property {boolean} deployed
 * @property {boolean} changed
 * @property {boolean} notFound
 * @property {string} message
 * @property {Deployment | null} current
 */

/**
 * The answer of `POST /api/keys`: the key and its secret, shown this once.
 * @typedef {Object} CreatedKey
 * @property {string} id
 * @property {string} name
 * @property {string[]} roles
 * @property {string[] | null} groups
 * @property {string | null} expiresAt
 * @property {string} key
 */

/**
 * An API key as listed: never its secret.
 * @typedef {Object} ApiKey
 * @property {string} id
 * @property {string} name
 * @property {string[]} roles
 * @property {string[] | null} groups
 * @property {string} createdBy
 * @property {string} createdAt
 * @property {string | null} expiresAt
 * @property {string | null} revokedAt
 */

/**
 * One state-changing request, allowed or refused. Repeats counts folded anonymous refusals.
 * @typedef {Object} AuditEntry
 * @property {string} id
 * @property {string} at
 * @property {string} actor
 * @property {string} actorId
 * @property {string[]} roles
 * @property {string} action
 * @property {string} target
 * @property {string} path
 * @property {number} status
 * @property {string} client
 * @property {number} repeats
 */

/**
 * One batch scoring job; ResultSha256 is set once the whole result CSV is stored.
 * @typedef {Object} BatchJob
 * @property {string} id
 * @property {string | null} group
 * @property {string} packageId
 * @property {string} artifactSha256
 * @property {string} dataset
 * @property {string} outputName
 * @property {'Queued' | 'Running' | 'Succeeded' | 'Failed' | 'Cancelled'} status
 * @property {number} rowsDone
 * @property {number} rowsTotal
 * @property {string | null} failureReason
 * @property {string | null} resultSha256
 * @property {number | null} resultBytes
 * @property {string} createdBy
 * @property {string} createdAt
 * @property {string | null} startedAt
 * @property {string | null} endedAt
 */

/**
 * A deployed version's live inputs and scores over the window against its training profile.
 * @typedef {Object} DriftReport
 * @property {string} group
 * @property {string} packageId
 * @property {number} version
 * @property {string} artifactSha256
 * @property {DriftWindowInfo} window
 * @property {'Collecting' | 'Ok' | 'Warn' | 'Alert'} state
 * @property {number} warnPsi
 * @property {number} alertPsi
 * @property {FeatureDrift[]} features
 * @property {string[]} topDrifted
 * @property {ScoreDrift} score
 */

/**
 * @typedef {Object} DriftWindowInfo
 * @property {number} minutes
 * @property {number} rows
 * @property {number} minRows
 * @property {number} silos
 */

/**
 * One feature: its PSI and state, missing and unseen shares, training against live share per bin (the last bin: missing).
 * @typedef {Object} FeatureDrift
 * @property {string} name
 * @property {'Numeric' | 'Categorical'} kind
 * @property {number} psi
 * @property {'Collecting' | 'Ok' | 'Warn' | 'Alert'} state
 * @property {number} trainingMissingShare
 * @property {number} liveMissingShare
 * @property {number} trainingUnseenShare
 * @property {number} liveUnseenShare
 * @property {string[]} bins
 * @property {number[]} training
 * @property {number[]} live
 */

/**
 * P(positive) in ten equal bins: on the test rows at registration against live.
 * @typedef {Object} ScoreDrift
 * @property {number} psi
 * @property {'Collecting' | 'Ok' | 'Warn' | 'Alert'} state
 * @property {number[]} training
 * @property {number[]} live
 */

/**
 * One version's live quality from fed-back labels; the metrics are null until labels arrive.
 * @typedef {Object} LiveVersionMetrics
 * @property {number} version
 * @property {string} packageId
 * @property {string} artifactSha256
 * @property {number} calls
 * @property {number} labelled
 * @property {number} positives
 * @property {number | null} auc
 * @property {number | null} accuracy
 * @property {number | null} brier
 * @property {ReliabilityBin[]} reliability
 */

/**
 * Labelled rows whose P(positive) fell in [from, to): their mean prediction against the share that was positive.
 * @typedef {Object} ReliabilityBin
 * @property {number} from
 * @property {number} to
 * @property {number} count
 * @property {number} meanPredicted
 * @property {number} observedPositive
 */

/**
 * A group's request capture: the share in force, whether it is the group's own, where batches go and what they hold.
 * @typedef {Object} CaptureView
 * @property {string} group
 * @property {number} percent
 * @property {boolean} ownSetting
 * @property {string} prefix
 * @property {number} objects
 * @property {number} bytes
 */

/**
 * The Evaluate step's report (open JSON on a package: another step may register its own). Curves hold at most
 * 1,000 points; label metrics are at `threshold`, `confusionMatrixAtHalf` at 0.5.
 * @typedef {Object} EvaluationReport
 * @property {number} rows
 * @property {number} positives
 * @property {string} positiveLabel
 * @property {string} negativeLabel
 * @property {number} threshold
 * @property {string | null} thresholdRule
 * @property {number} accuracy
 * @property {number} precision
 * @property {number} recall
 * @property {number} f1
 * @property {number} auc
 * @property {number} averagePrecision
 * @property {number} logLoss
 * @property {ConfusionMatrix} confusionMatrix
 * @property {ConfusionMatrix | null} confusionMatrixAtHalf
 * @property {RocPoint[]} rocCurve
 * @property {PrecisionRecallPoint[]} precisionRecallCurve
 * @property {Champion} [champion] the served version scored on the same rows, when there was one
 * @property {EnsembleMember[]} [ensemble] an ensemble's members, when the model is one
 */

/**
 * One member of an ensemble model: the trial it was refitted from and its weight in the mean of probabilities.
 * @typedef {Object} EnsembleMember
 * @property {string} algorithm
 * @property {Object<string, string | number>} parameters
 * @property {number} weight
 * @property {number} [trial]
 * @property {number} [crossValidationScore]
 */

/**
 * @typedef {Object} ConfusionMatrix
 * @property {number} truePositives
 * @property {number} falsePositives
 * @property {number} trueNegatives
 * @property {number} falseNegatives
 * @property {number} total
 * @property {number} accuracy
 * @property {number} precision
 * @property {number} recall
 * @property {number} specificity
 * @property {number} balancedAccuracy
 * @property {number} f1
 */

/**
 * @typedef {Object} RocPoint
 * @property {number} falsePositiveRate
 * @property {number} truePositiveRate
 * @property {number | null} threshold
 */

/**
 * @typedef {Object} PrecisionRecallPoint
 * @property {number} recall
 * @property {number} precision
 * @property {number | null} threshold
 */

/**
 * The version the endpoint served when this one was evaluated, scored on the same test rows.
 * @typedef {Object} Champion
 * @property {number} version
 * @property {string} packageId
 * @property {string} artifactSha256
 * @property {number} threshold
 * @property {Record<string, number>} metrics
 * @property {RocPoint[]} rocCurve
 */

export {};
