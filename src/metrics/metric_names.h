#pragma once

// The name of every metric `tide serve` exports, in one place: the server
// registers them by these constants, `tide load` (and the coming `tide up`
// and `tide sim`) read them by these constants, and a unit test checks that
// deploy/check/contract.json, which deploy's manifests and checks rely on,
// names each one with the same type. The meaning of each, its labels and
// its units are in docs/metrics.md.

namespace tide::metrics::names {

// Inference (labels model, version; see each for more).

// Requests by outcome (label outcome: success, failure, rejected).
inline constexpr char kInferenceRequestsTotal[] = "tide_inference_requests_total";
// Failed and rejected requests by reason (label reason: the status code in snake case).
inline constexpr char kInferenceFailuresTotal[] = "tide_inference_failures_total";
// Inferences performed: batch rows, not requests.
inline constexpr char kInferenceCountTotal[] = "tide_inference_count_total";
// Batches executed; count / executions is the mean batch size.
inline constexpr char kInferenceExecutionsTotal[] = "tide_inference_executions_total";
// CPU seconds idle workers spent polling the queue before sleeping.
inline constexpr char kWorkerSpinSecondsTotal[] = "tide_worker_spin_seconds_total";
inline constexpr char kInferenceInlineTotal[] = "tide_inference_inline_total";
// Requests waiting in the model's queue, not yet executing (an autoscaling signal).
inline constexpr char kInferenceQueueDepth[] = "tide_inference_queue_depth";
// Requests accepted and not yet answered (queued plus executing).
inline constexpr char kInferenceInFlight[] = "tide_inference_in_flight";
// Seconds from acceptance to response in the server (the p99 autoscaling signal).
inline constexpr char kInferenceRequestDurationSeconds[] =
    "tide_inference_request_duration_seconds";
// Seconds a request waited in the queue before its batch was dispatched.
inline constexpr char kInferenceQueueDurationSeconds[] = "tide_inference_queue_duration_seconds";
// Seconds from dispatch to completion: the batch's compute, as the request saw it.
inline constexpr char kInferenceComputeDurationSeconds[] =
    "tide_inference_compute_duration_seconds";
// Rows in each executed batch.
inline constexpr char kInferenceBatchSize[] = "tide_inference_batch_size";

// Models (labels model, version).

// 1 when the version is loaded, warmed up and serving, else 0.
inline constexpr char kModelReady[] = "tide_model_ready";
// Resident memory the version added when it loaded, in bytes.
inline constexpr char kModelMemoryBytes[] = "tide_model_memory_bytes";
// Seconds the version took to load and warm up.
inline constexpr char kModelLoadDurationSeconds[] = "tide_model_load_duration_seconds";

// Model control (--model-control-mode explicit; labels action: index, load,
// unload; result: ok or the refusal's reason: disabled, unauthenticated,
// permission_denied, invalid_name, not_found, unsupported, failed; and
// loopback_trusted: admitted without a token from a loopback gRPC peer under
// --model-control-trust-loopback, its outcome counted as well).
inline constexpr char kModelControlRequestsTotal[] = "tide_model_control_requests_total";

// HTTP (the inference port).

// Responses by status code (label code), including the transport's own.
inline constexpr char kHttpResponsesTotal[] = "tide_http_responses_total";
// Connections closed by a deadline (label kind: idle, read, write).
inline constexpr char kHttpTimeoutsTotal[] = "tide_http_timeouts_total";
inline constexpr char kHttpAcceptErrorsTotal[] = "tide_http_accept_errors_total";
// Open connections (no labels).
inline constexpr char kHttpConnections[] = "tide_http_connections";

// Process (the standard names of Prometheus client libraries; no labels).

// User + system CPU seconds.
inline constexpr char kProcessCpuSecondsTotal[] = "process_cpu_seconds_total";
// Resident set size in bytes.
inline constexpr char kProcessResidentMemoryBytes[] = "process_resident_memory_bytes";
// Virtual memory size in bytes.
inline constexpr char kProcessVirtualMemoryBytes[] = "process_virtual_memory_bytes";
// Start time, Unix seconds.
inline constexpr char kProcessStartTimeSeconds[] = "process_start_time_seconds";
// Open file descriptors.
inline constexpr char kProcessOpenFds[] = "process_open_fds";
// The descriptor limit.
inline constexpr char kProcessMaxFds[] = "process_max_fds";

// The router of `tide up` (its metrics port; `tide serve` does not export
// these, so they are not in kAll below, which is tide serve's contract).

// Requests answered by the router (labels model, code: the status it returned).
inline constexpr char kRouterRequestsTotal[] = "tide_router_requests_total";
// Seconds from the router reading a request to it answering (label model).
inline constexpr char kRouterRequestDurationSeconds[] = "tide_router_request_duration_seconds";
// Requests sent to a replica and not yet answered (label replica).
inline constexpr char kRouterOutstanding[] = "tide_router_outstanding";
// Requests sent again to another replica because they were never delivered.
inline constexpr char kRouterRetriesTotal[] = "tide_router_retries_total";
// Requests held while no replica is ready (the activator; no labels).
inline constexpr char kRouterHeldRequests[] = "tide_router_held_requests";

// The fleet of `tide up` (its metrics port, beside the router's).

// Replicas by state (label state: desired, ready, starting, terminating).
inline constexpr char kFleetReplicas[] = "tide_fleet_replicas";
// HPA reconciles by outcome (labels direction: up, down, none; reason: the
// decision's reason in `kubectl describe hpa` words, e.g. "cpu resource
// utilization (percentage of request) above target", or its machine reason).
inline constexpr char kFleetAutoscalerDecisionsTotal[] = "tide_fleet_autoscaler_decisions_total";

// GPUs (tide serve; `metrics/gpu/`). Labels gpu (the device index) and uuid,
// plus simulated="true" on a simulated backend's device (mode gpu). Present
// only where there is a GPU (NVML found one) or a model in mode gpu, so they
// are not in kAll below; kGpu lists them.

// Share of the last sample period in which the device was busy, 0..1
// (NVML's utilization.gpu / 100; dcgm-exporter's DCGM_FI_DEV_GPU_UTIL / 100).
inline constexpr char kGpuUtilizationRatio[] = "tide_gpu_utilization_ratio";
// Device memory in use, in bytes (dcgm-exporter's DCGM_FI_DEV_FB_USED is MiB).
inline constexpr char kGpuMemoryUsedBytes[] = "tide_gpu_memory_used_bytes";
// Device memory in all, in bytes.
inline constexpr char kGpuMemoryTotalBytes[] = "tide_gpu_memory_total_bytes";

// Every name above with its Prometheus TYPE word (as in `# TYPE` lines and
// contract.json), in the order of docs/metrics.md.
struct NameAndType {
  const char* name;
  const char* type;
};
inline constexpr NameAndType kAll[] = {
    {kInferenceRequestsTotal, "counter"},
    {kInferenceFailuresTotal, "counter"},
    {kInferenceCountTotal, "counter"},
    {kInferenceExecutionsTotal, "counter"},
    {kWorkerSpinSecondsTotal, "counter"},
    {kInferenceInlineTotal, "counter"},
    {kInferenceQueueDepth, "gauge"},
    {kInferenceInFlight, "gauge"},
    {kInferenceRequestDurationSeconds, "histogram"},
    {kInferenceQueueDurationSeconds, "histogram"},
    {kInferenceComputeDurationSeconds, "histogram"},
    {kInferenceBatchSize, "histogram"},
    {kModelReady, "gauge"},
    {kModelMemoryBytes, "gauge"},
    {kModelLoadDurationSeconds, "gauge"},
    {kModelControlRequestsTotal, "counter"},
    {kHttpResponsesTotal, "counter"},
    {kHttpTimeoutsTotal, "counter"},
    {kHttpAcceptErrorsTotal, "counter"},
    {kHttpConnections, "gauge"},
    {kProcessCpuSecondsTotal, "counter"},
    {kProcessResidentMemoryBytes, "gauge"},
    {kProcessVirtualMemoryBytes, "gauge"},
    {kProcessStartTimeSeconds, "gauge"},
    {kProcessOpenFds, "gauge"},
    {kProcessMaxFds, "gauge"},
};

// The GPU metrics, present only where there is a (possibly simulated) GPU.
inline constexpr NameAndType kGpu[] = {
    {kGpuUtilizationRatio, "gauge"},
    {kGpuMemoryUsedBytes, "gauge"},
    {kGpuMemoryTotalBytes, "gauge"},
};

}  // namespace tide::metrics::names
