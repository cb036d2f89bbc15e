#!/usr/bin/env python3
"""Expands upstream Kubernetes HPA unit-test fixtures into tide snapshot JSON.

Each case below transcribes one upstream test (kubernetes/kubernetes,
pkg/controller/podautoscaler/replica_calculator_test.go or horizontal_test.go):
its fixture (pods, readiness, start times, metric levels, requests) and its
expected numbers, copied from the upstream test. This script only expands the
fixture the way upstream's fake clients do (two containers per pod, pod names
test-pod-N, zero start times, ...) into the schema of docs/hpa-semantics.md §13,
and derives `desiredReplicas` from the normalization rules where the upstream
test checks only the calculator (see NOTE_* below). Run it to regenerate:

  python3 gen_upstream_cases.py   # writes replica_calculator.json, scaling_rules.json, horizontal.json
"""

import json
import os

NOW = 1700000000.0
HOT = NOW - 0.001   # hotCPUCreationTime(): time.Now() when the fixture is built, just before the reconcile
COOL = NOW - 180.0  # coolCPUCreationTime(): 3 minutes ago
MAXINT32 = 2**31 - 1
MAXINT64 = 2**63 - 1
RC = "pkg/controller/podautoscaler/replica_calculator_test.go"
HZ = "pkg/controller/podautoscaler/horizontal_test.go"
# The upstream unit-test binary: scaleUpLimitFactor 8 (init()), 2 min CPU
# initialization period, 10 s readiness delay.
UNIT_CONFIG = {"scaleUpLimitFactor": 8, "cpuInitializationPeriod": 120,
               "delayOfInitialReadinessStatus": 10}

NOTE_CALC = ("Upstream checks the calculator's proposal (metricReplicas) and usage; the HPA "
             "around it (legacy path, minReplicas 1, maxReplicas 100, empty history) lets the "
             "proposal through unchanged, so desiredReplicas equals it (or currentReplicas on error).")


def q_milli(v):
    return f"{v}m"


def legacy_desired(current, proposal, min_r=1, max_r=100, factor=8):
    """normalizeDesiredReplicas with an empty history: clamp only."""
    limit = int(max(factor * current, 4))
    max_allowed = limit if max_r > limit else max_r
    if proposal < min_r:
        return min_r
    if proposal > max_allowed:
        return max_allowed
    return proposal


# ---------------------------------------------------------------------------
# replica_calculator_test.go
# ---------------------------------------------------------------------------

def calc_pods(current, readiness=None, start=None, phase=None, deleting=None, requests=None):
    """newFakePodClient/prepareTestClientSet: max(current, len(phase)) pods."""
    n = current
    if phase is not None and len(phase) > n:
        n = len(phase)
    pods = []
    for i in range(n):
        pod = {"name": f"test-pod-{i}",
               "phase": phase[i] if phase else "Running",
               "ready": (readiness[i] if readiness and i < len(readiness) else True),
               "startTime": start[i] if start else 0.0}
        if deleting and deleting[i]:
            pod["deleting"] = True
        containers = [{"name": "container1"}, {"name": "container2"}]
        if requests is not None and i < len(requests):
            for c in containers:
                c["requests"] = {"cpu": requests[i]}
        pod["containers"] = containers
        pods.append(pod)
    return pods


def levels2(*vals):
    return [[v, v] for v in vals]


def resource_case(name, source, current, target, requests, levels, expect_replicas,
                  expect_util=None, expect_raw=None, container=None, readiness=None,
                  start=None, phase=None, deleting=None, pod_names=None, tolerances=None,
                  error=None, note=None):
    pods = calc_pods(current, readiness, start, phase, deleting, requests)
    snap = {"name": name, "source": source, "now": NOW, "config": dict(UNIT_CONFIG),
            "currentReplicas": current, "pods": pods, "recommendations": []}
    if container:
        metric = {"type": "ContainerResource", "containerResource": {
            "name": "cpu", "container": container,
            "target": {"type": "Utilization", "averageUtilization": target}}}
        cm = {}
        for i, lv in enumerate(levels):
            pname = pod_names[i] if pod_names and i < len(pod_names) else f"test-pod-{i}"
            cm[pname] = {f"container{j + 1}": {"value": q_milli(v), "timestamp": 0.0, "window": 60}
                         for j, v in enumerate(lv)}
        snap["containerMetrics"] = {"cpu": cm}
    else:
        metric = {"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": target}}}
        pm = {}
        for i, lv in enumerate(levels):
            pname = pod_names[i] if pod_names and i < len(pod_names) else f"test-pod-{i}"
            # Upstream always sends two container entries; a missing level leaves
            # an entry without the resource, which drops the pod (7.5).
            value = q_milli(sum(lv)) if len(lv) == 2 else None
            pm[pname] = {"value": value, "timestamp": 0.0, "window": 60}
        snap["podMetrics"] = {"cpu": pm}
    snap["hpa"] = {"minReplicas": 1, "maxReplicas": 100, "metrics": [metric]}
    add_tolerances(snap, tolerances)
    expect = {}
    if error:
        expect.update({"desiredReplicas": current, "error": True, "metricReplicas": [None]})
    else:
        expect.update({"desiredReplicas": desired_for(snap, current, expect_replicas),
                       "error": False, "metricReplicas": [expect_replicas],
                       "utilization": expect_util, "rawUtilization": expect_raw})
    snap["expect"] = expect
    snap["note"] = note or NOTE_CALC
    return snap


def add_tolerances(snap, tolerances):
    """Tolerances{down, up} become behavior.scale{Down,Up}.tolerance (4)."""
    if tolerances is None:
        return
    down, up = tolerances
    snap["hpa"]["behavior"] = {"scaleUp": {"tolerance": up}, "scaleDown": {"tolerance": down}}


def desired_for(snap, current, proposal):
    if "behavior" in snap["hpa"]:
        # Behavior path with the default policies and an empty history:
        # scale-up limit max(cur+4, 2*cur), scale-down to anything >= minReplicas.
        if proposal > current:
            return min(proposal, max(current + 4, 2 * current), snap["hpa"]["maxReplicas"])
        return max(proposal, snap["hpa"].get("minReplicas", 1))
    return legacy_desired(current, proposal, max_r=snap["hpa"]["maxReplicas"])


def metric_case(name, source, current, kind, levels, expect_replicas, expect_usage,
                target=None, per_pod_target=None, readiness=None, start=None, phase=None,
                tolerances=None, max_replicas=100, note=None):
    pods = calc_pods(current, readiness, start, phase)
    snap = {"name": name, "source": source, "now": NOW, "config": dict(UNIT_CONFIG),
            "currentReplicas": current, "pods": pods, "recommendations": []}
    obj = {"kind": "Deployment", "apiVersion": "apps/v1", "name": "some-deployment"}
    sel = {"matchLabels": {"label": "value"}}
    if kind == "pods":
        metric = {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {
            "type": "AverageValue", "averageValue": q_milli(target)}}}
        snap["podMetrics"] = {"qps": {f"test-pod-{i}": {"value": q_milli(v), "timestamp": 0.0}
                                      for i, v in enumerate(levels)}}
    elif kind == "object":
        metric = {"type": "Object", "object": {"metric": {"name": "qps"}, "describedObject": obj,
                                               "target": {"type": "Value", "value": q_milli(target)}}}
        snap["objectMetrics"] = {"qps": q_milli(levels[0])}
    elif kind == "objectPerPod":
        metric = {"type": "Object", "object": {"metric": {"name": "qps"}, "describedObject": obj,
                                               "target": {"type": "AverageValue",
                                                          "averageValue": q_milli(per_pod_target)}}}
        snap["objectMetrics"] = {"qps": q_milli(levels[0])}
    elif kind == "external":
        metric = {"type": "External", "external": {"metric": {"name": "qps", "selector": sel},
                                                   "target": {"type": "Value", "value": q_milli(target)}}}
        snap["externalMetrics"] = {"qps": [q_milli(v) for v in levels]}
    elif kind == "externalPerPod":
        metric = {"type": "External", "external": {"metric": {"name": "qps", "selector": sel},
                                                   "target": {"type": "AverageValue",
                                                              "averageValue": q_milli(per_pod_target)}}}
        snap["externalMetrics"] = {"qps": [q_milli(v) for v in levels]}
    snap["hpa"] = {"minReplicas": 1, "maxReplicas": max_replicas, "metrics": [metric]}
    add_tolerances(snap, tolerances)
    snap["expect"] = {"desiredReplicas": desired_for(snap, current, expect_replicas),
                      "error": False, "metricReplicas": [expect_replicas], "usage": expect_usage}
    snap["note"] = note or NOTE_CALC
    return snap


def replica_calculator_cases():
    out = []
    R = RC + ":TestReplicaCalcResourceScale/"
    one = ["1.0"] * 7

    def rs(sub, **kw):
        out.append(resource_case("calc-resource-" + sub.replace(" ", "-").replace(":", ""),
                                 R + sub, **kw))

    rs("scale up", current=3, target=30, requests=one[:3], levels=levels2(300, 500, 700),
       expect_replicas=5, expect_util=50, expect_raw=1000)
    rs("scale up: container metric", current=3, target=30, requests=one[:3], container="container2",
       levels=[[1000, 300], [1000, 500], [1000, 700]], expect_replicas=5, expect_util=50, expect_raw=500)
    rs("scale up: unready pod scales less", current=3, target=30, requests=one[:3],
       readiness=[False, True, True], levels=levels2(300, 500, 700),
       expect_replicas=4, expect_util=60, expect_raw=1200)
    rs("scale up: hot-CPU container scales less", current=3, target=30, requests=one[:3],
       start=[HOT, COOL, COOL], container="container2", levels=[[0, 300], [0, 500], [0, 700]],
       expect_replicas=4, expect_util=60, expect_raw=600)
    rs("scale up: hot-CPU pod scales less", current=3, target=30, requests=one[:3],
       start=[HOT, COOL, COOL], levels=levels2(300, 500, 700),
       expect_replicas=4, expect_util=60, expect_raw=1200)
    rs("no scale: unready pods ignored", current=3, target=30, requests=one[:3],
       readiness=[True, False, False], levels=levels2(400, 500, 700),
       expect_replicas=3, expect_util=40, expect_raw=800)
    rs("no scale: hot-CPU pods ignored", current=3, target=30, requests=one[:3],
       readiness=[True, False, False], start=[COOL, HOT, HOT], levels=levels2(400, 500, 700),
       expect_replicas=3, expect_util=40, expect_raw=800)
    rs("scale up: failed pods ignored", current=2, target=30, requests=one[:4],
       readiness=[True, True, False, False], phase=["Running", "Running", "Failed", "Failed"],
       levels=levels2(500, 700), expect_replicas=4, expect_util=60, expect_raw=1200)
    rs("scale up: failed pods ignored with missing container metric", current=2, target=30,
       requests=one[:4], readiness=[True, True, False, False],
       phase=["Running", "Running", "Failed", "Failed"], container="container2",
       levels=[[1000, 500], [9000, 700], [1000], [9000]], expect_replicas=4, expect_util=60,
       expect_raw=600)
    rs("scale up: container metrics with failed pods ignored", current=2, target=30,
       requests=one[:4], readiness=[True, True, False, False],
       phase=["Running", "Running", "Failed", "Failed"], container="container2",
       levels=[[1000, 500], [9000, 700]], expect_replicas=4, expect_util=60, expect_raw=600)
    rs("scale up: pods being deleted are ignored", current=2, target=30, requests=one[:4],
       readiness=[True, True, False, False], phase=["Running"] * 4,
       deleting=[False, False, True, True], levels=levels2(500, 700),
       expect_replicas=4, expect_util=60, expect_raw=1200)
    rs("scale up: container metrics with pods being deleted ignored", current=2, target=30,
       requests=one[:4], readiness=[True, True, False, False], phase=["Running"] * 4,
       deleting=[False, False, True, True], container="container1", levels=levels2(500, 700),
       expect_replicas=4, expect_util=60, expect_raw=600)
    rs("scale down", current=5, target=50, requests=one[:5], levels=levels2(100, 300, 500, 250, 250),
       expect_replicas=3, expect_util=28, expect_raw=560)
    rs("scale down: container metric", current=5, target=50, requests=one[:5], container="container2",
       levels=[[1000, 100], [1000, 300], [1000, 500], [1000, 250], [1000, 250]],
       expect_replicas=3, expect_util=28, expect_raw=280)
    rs("scale down: exclude unready pods", current=5, target=50, requests=one[:5],
       readiness=[True, True, True, False, False], levels=levels2(100, 300, 500, 250, 250),
       expect_replicas=2, expect_util=30, expect_raw=600)
    rs("scale down: container metric excludes unready pods", current=5, target=50, requests=one[:5],
       readiness=[True, True, True, False, False], container="container2",
       levels=[[1000, 100], [1000, 300], [1000, 500], [1000, 250], [1000, 250]],
       expect_replicas=2, expect_util=30, expect_raw=300)
    rs("scale down: exclude unscheduled pods", current=5, target=50, requests=one[:5],
       readiness=[True, False, False, False, False],
       phase=["Running", "Pending", "Pending", "Pending", "Pending"], levels=levels2(100),
       expect_replicas=1, expect_util=10, expect_raw=200)
    rs("scale down: container metric excludes unscheduled pods", current=5, target=50,
       requests=one[:5], readiness=[True, False, False, False, False],
       phase=["Running", "Pending", "Pending", "Pending", "Pending"], container="container2",
       levels=[[1000, 100], [1000, 300], [1000, 500], [1000, 250], [1000, 250]],
       expect_replicas=1, expect_util=10, expect_raw=100)
    rs("scale down: ignore hot-CPU pods", current=5, target=50, requests=one[:5],
       start=[COOL, COOL, COOL, HOT, HOT], levels=levels2(100, 300, 500, 250, 250),
       expect_replicas=2, expect_util=30, expect_raw=600)
    rs("scale down: container metric ignores hot-CPU pods", current=5, target=50, requests=one[:5],
       start=[COOL, COOL, COOL, HOT, HOT], container="container2",
       levels=[[1000, 100], [1000, 300], [1000, 500], [1000, 1000], [1000, 1000]],
       expect_replicas=2, expect_util=30, expect_raw=300)
    rs("scale down: failed pods ignored", current=5, target=50, requests=one[:7],
       readiness=[True] * 5 + [False] * 2, phase=["Running"] * 5 + ["Failed"] * 2,
       levels=levels2(100, 300, 500, 250, 250), expect_replicas=3, expect_util=28, expect_raw=560)
    rs("scale down: container metric with failed pods ignored", current=5, target=50,
       requests=one[:7], readiness=[True] * 5 + [False] * 2, phase=["Running"] * 5 + ["Failed"] * 2,
       container="container2",
       levels=[[1000, 100], [1000, 300], [1000, 500], [1000, 250], [1000, 250]],
       expect_replicas=3, expect_util=28, expect_raw=280)
    rs("scale down: pods being deleted are ignored", current=5, target=50, requests=one[:7],
       readiness=[True] * 5 + [False] * 2, phase=["Running"] * 7,
       deleting=[False] * 5 + [True] * 2, levels=levels2(100, 300, 500, 250, 250),
       expect_replicas=3, expect_util=28, expect_raw=560)
    rs("scale down: still-running pods being deleted are ignored", current=5, target=50,
       requests=one[:7], readiness=[True] * 5 + [False] * 2, phase=["Running"] * 7,
       deleting=[False] * 5 + [True] * 2, container="container2",
       levels=[[1000, 100], [1000, 300], [1000, 500], [1000, 250], [1000, 250]],
       expect_replicas=3, expect_util=28, expect_raw=280)

    def t(test):
        return RC + ":" + test

    def slug(test):
        return "calc-" + test.replace("Test", "", 1)

    # Single resource tests.
    for test, kw in [
        ("TestReplicaCalcTolerance", dict(current=3, target=100, requests=["0.9", "1.0", "1.1"],
                                          levels=levels2(1010, 1030, 1020), expect_replicas=3,
                                          expect_util=102, expect_raw=2040)),
        ("TestReplicaCalcSuperfluousMetrics", dict(current=4, target=100, requests=one[:4],
                                                   levels=levels2(4000, 9500, 3000, 7000, 3200, 2000),
                                                   expect_replicas=24, expect_util=587,
                                                   expect_raw=11750)),
        ("TestReplicaCalcMissingMetrics", dict(current=4, target=100, requests=one[:4],
                                               levels=levels2(400, 95), expect_replicas=3,
                                               expect_util=24, expect_raw=495)),
        ("TestReplicaCalcMissingMetricsNoChangeEq", dict(current=2, target=100, requests=one[:2],
                                                         levels=levels2(1000), expect_replicas=2,
                                                         expect_util=100, expect_raw=2000)),
        ("TestReplicaCalcMissingMetricsNoChangeGt", dict(current=2, target=100, requests=one[:2],
                                                         levels=levels2(1900), expect_replicas=2,
                                                         expect_util=190, expect_raw=3800)),
        ("TestReplicaCalcMissingMetricsNoChangeLt", dict(current=2, target=100, requests=one[:2],
                                                         levels=levels2(600), expect_replicas=2,
                                                         expect_util=60, expect_raw=1200)),
        ("TestReplicaCalcMissingMetricsUnreadyChange", dict(
            current=3, target=50, requests=one[:3], readiness=[False, True, True],
            levels=levels2(100, 450), expect_replicas=3, expect_util=45, expect_raw=900)),
        ("TestReplicaCalcMissingMetricsHotCpuNoChange", dict(
            current=3, target=50, requests=one[:3], start=[HOT, COOL, COOL],
            levels=levels2(100, 450), expect_replicas=3, expect_util=45, expect_raw=900)),
        ("TestReplicaCalcMissingMetricsUnreadyScaleUp", dict(
            current=3, target=50, requests=one[:3], readiness=[False, True, True],
            levels=levels2(100, 2000), expect_replicas=4, expect_util=200, expect_raw=4000)),
        ("TestReplicaCalcMissingMetricsHotCpuScaleUp", dict(
            current=3, target=50, requests=one[:3], readiness=[False, True, True],
            start=[HOT, COOL, COOL], levels=levels2(100, 2000), expect_replicas=4,
            expect_util=200, expect_raw=4000)),
        ("TestReplicaCalcMissingMetricsUnreadyScaleDown", dict(
            current=4, target=50, requests=one[:4], readiness=[False, True, True, True],
            levels=levels2(100, 100, 100), expect_replicas=3, expect_util=10, expect_raw=200)),
        ("TestReplicaCalcMissingMetricsScaleDownTargetOver100", dict(
            current=4, target=300, requests=["1.0", "1.0", "2.0", "2.0"],
            readiness=[False, True, True, True], levels=levels2(200, 100, 100),
            expect_replicas=2, expect_util=6, expect_raw=200)),
        ("TestReplicaCalcDuringRollingUpdateWithMaxSurge", dict(
            current=2, target=50, requests=one[:3], phase=["Running"] * 3,
            levels=levels2(100, 100), expect_replicas=2, expect_util=10, expect_raw=200)),
    ]:
        out.append(resource_case(slug(test), t(test), **kw))

    out.append(resource_case("calc-DisjointResourcesMetrics", t("TestReplicaCalcDisjointResourcesMetrics"),
                             current=1, target=100, requests=["1.0"], levels=levels2(100),
                             pod_names=["an-older-pod-name"], expect_replicas=None, error=True,
                             note="no metrics returned matched known pods: the decision fails and keeps 1"))
    out.append(resource_case("calc-EmptyMetrics", t("TestReplicaCalcEmptyMetrics"), current=4,
                             target=100, requests=one[:3], levels=[], expect_replicas=None, error=True,
                             note="the resource metrics API returned nothing: error, keep 4"))
    out.append(resource_case("calc-EmptyCPURequest", t("TestReplicaCalcEmptyCPURequest"), current=1,
                             target=100, requests=[], levels=levels2(200), expect_replicas=None,
                             error=True, note="missing request for cpu: error, keep 1"))

    # TestReplicaCalcComputedToleranceAlgImplementation: target int32((1/(2*0.9)+0.01)*100) = 56,
    # then (1/(2*0.9)+0.004)*100 -> 55.
    reqs = [f"{300 + d}m" for d in (100, -100, 10, -10, 2, -2, 1, -1, 0, 0)]
    out.append(resource_case("calc-ComputedToleranceAlgImplementation",
                             t("TestReplicaCalcComputedToleranceAlgImplementation"), current=10,
                             target=56, requests=reqs, levels=levels2(*([150] * 10)),
                             expect_replicas=9, expect_util=50, expect_raw=300))
    out.append(resource_case("calc-ComputedToleranceAlgImplementation-2",
                             t("TestReplicaCalcComputedToleranceAlgImplementation#2"), current=10,
                             target=55, requests=reqs, levels=levels2(*([150] * 10)),
                             expect_replicas=10, expect_util=50, expect_raw=300))

    # TestReplicaCalcConfigurableTolerance subtests (Tolerances{down, up}).
    C = RC + ":TestReplicaCalcConfigurableTolerance/"
    tol_reqs = ["0.9", "1.0", "1.1"]
    for sub, tol, lv, rep, util in [
        ("Outside of a 0% tolerance", ("0", "0"), (909, 1010, 1111), 4, 101),
        ("Within a 200% scale-up tolerance", ("0.1", "2"), (1890, 1910, 1900), 3, 190),
        ("Outside 8% scale-up tolerance (and superfuous scale-down tolerance)", ("2", "0.08"),
         (1100, 1080, 1090), 4, 109),
        ("Within a 36% scale-down tolerance", ("0.36", "0.1"), (660, 640, 650), 3, 65),
        ("Outside a 34% scale-down tolerance", ("0.34", "0.1"), (660, 640, 650), 2, 65),
    ]:
        out.append(resource_case("calc-configurable-tolerance-" + sub.split(" ")[0].lower() + "-" +
                                 tol[0] + "-" + tol[1], C + sub, current=3, target=100,
                                 requests=tol_reqs, levels=levels2(*lv), expect_replicas=rep,
                                 expect_util=util, expect_raw=2 * sorted(lv)[1],  # 2 * the middle level
                                 tolerances=tol))

    # Custom, object and external metrics.
    for test, kind, kw in [
        ("TestReplicaCalcScaleUpCM", "pods", dict(current=3, levels=[20000, 10000, 30000],
                                                  target=15000, expect_replicas=4, expect_usage=20000)),
        ("TestReplicaCalcScaleUpCMUnreadyHotCpuNoLessScale", "pods", dict(
            current=3, readiness=[True, True, False], start=[COOL, COOL, HOT],
            levels=[50000, 10000, 30000], target=15000, expect_replicas=6, expect_usage=30000)),
        ("TestReplicaCalcScaleUpCMUnreadyHotCpuScaleWouldScaleDown", "pods", dict(
            current=3, readiness=[False, True, False], start=[HOT, COOL, HOT],
            levels=[50000, 15000, 30000], target=15000, expect_replicas=7, expect_usage=31666)),
        ("TestReplicaCalcScaleUpCMObject", "object", dict(current=3, levels=[20000], target=15000,
                                                          expect_replicas=4, expect_usage=20000)),
        ("TestReplicaCalcScaleUpCMPerPodObject", "objectPerPod", dict(
            current=3, levels=[20000], per_pod_target=5000, expect_replicas=4, expect_usage=6667)),
        ("TestReplicaCalcScaleUpCMObjectIgnoresUnreadyPods", "object", dict(
            current=3, readiness=[False, True, False], levels=[50000], target=10000,
            expect_replicas=5, expect_usage=50000)),
        ("TestReplicaCalcScaleUpCMExternalIgnoresUnreadyPods", "external", dict(
            current=3, readiness=[False, True, False], levels=[8600], target=4400,
            expect_replicas=2, expect_usage=8600)),
        ("TestReplicaCalcScaleUpPerPodCMExternal", "externalPerPod", dict(
            current=3, levels=[8600], per_pod_target=2150, expect_replicas=4, expect_usage=2867)),
        ("TestReplicaCalcScaleDownCM", "pods", dict(current=5, levels=[12000] * 5, target=20000,
                                                    expect_replicas=3, expect_usage=12000)),
        ("TestReplicaCalcScaleDownPerPodCMObject", "objectPerPod", dict(
            current=5, levels=[6000], per_pod_target=2000, expect_replicas=3, expect_usage=1200)),
        ("TestReplicaCalcScaleDownCMObject", "object", dict(current=5, levels=[12000], target=20000,
                                                            expect_replicas=3, expect_usage=12000)),
        ("TestReplicaCalcScaleDownCMExternal", "external", dict(current=5, levels=[8600],
                                                                target=14334, expect_replicas=3,
                                                                expect_usage=8600)),
        ("TestReplicaCalcScaleDownPerPodCMExternal", "externalPerPod", dict(
            current=5, levels=[8600], per_pod_target=2867, expect_replicas=3, expect_usage=1720)),
        ("TestReplicaCalcToleranceCM", "pods", dict(current=3, levels=[20000, 21000, 21000],
                                                    target=20000, expect_replicas=3,
                                                    expect_usage=20666)),
        ("TestReplicaCalcToleranceCMObject", "object", dict(current=3, levels=[20666], target=20000,
                                                            expect_replicas=3, expect_usage=20666)),
        ("TestReplicaCalcTolerancePerPodCMObject", "objectPerPod", dict(
            current=4, levels=[20166], per_pod_target=5000, expect_replicas=4, expect_usage=5042)),
        ("TestReplicaCalcToleranceCMExternal", "external", dict(current=3, levels=[8600],
                                                                target=8888, expect_replicas=3,
                                                                expect_usage=8600)),
        ("TestReplicaCalcTolerancePerPodCMExternal", "externalPerPod", dict(
            current=3, levels=[8600], per_pod_target=2900, expect_replicas=3, expect_usage=2867)),
        ("TestReplicaCalcConfigurableToleranceCM", "pods", dict(
            current=3, levels=[20000, 21000, 21000], target=20000, expect_replicas=4,
            expect_usage=20666, tolerances=("0.1", "0.01"))),
        ("TestReplicaCalcConfigurableToleranceCMObject", "object", dict(
            current=3, levels=[20666], target=20000, expect_replicas=4, expect_usage=20666,
            tolerances=("0.1", "0.01"))),
        ("TestReplicaCalcConfigurableTolerancePerPodCMObject", "objectPerPod", dict(
            current=4, levels=[20208], per_pod_target=5000, expect_replicas=5, expect_usage=5052,
            tolerances=("0.1", "0.01"))),
        ("TestReplicaCalcConfigurableToleranceCMExternal", "external", dict(
            current=3, levels=[8900], target=8800, expect_replicas=4, expect_usage=8900,
            tolerances=("0.1", "0.01"))),
        ("TestReplicaCalcConfigurableTolerancePerPodCMExternal", "externalPerPod", dict(
            current=3, levels=[8600], per_pod_target=2800, expect_replicas=4, expect_usage=2867,
            tolerances=("0.1", "0.01"))),
        ("TestPlainMetricReplicaCalcMissingMetricsNoChangeEq", "pods", dict(
            current=5, levels=[20000, 19000, 21000], target=20000, expect_replicas=5,
            expect_usage=20000)),
        ("TestReplicaCalcDuringRollingUpdateWithMaxSurgeCM", "pods", dict(
            current=2, phase=["Running"] * 3, levels=[10000, 10000], target=17000,
            expect_replicas=2, expect_usage=10000)),
        ("TestReplicaCalcExternalMetricUsageOverflow", "external", dict(
            current=3, levels=[MAXINT64 // 2 + 1, MAXINT64 // 2 + 1], target=MAXINT64,
            expect_replicas=3, expect_usage=MAXINT64)),
        ("TestExternalPerPodMetricUsageOverflow", "externalPerPod", dict(
            current=1, levels=[MAXINT64], per_pod_target=MAXINT64, expect_replicas=1,
            expect_usage=MAXINT64)),
    ]:
        out.append(metric_case(slug(test), t(test), kind=kind, **kw))

    # Overflow: the proposal saturates at MaxInt32; maxReplicas 10 (< 8*current) clamps it.
    for test, kind, kw in [
        ("TestReplicaCalcScaleUpOverflow", "object", dict(current=3, levels=[MAXINT64], target=1,
                                                          expect_replicas=MAXINT32,
                                                          expect_usage=MAXINT64)),
        ("TestExternalPerPodMetricReplicaOverflow", "externalPerPod", dict(
            current=1, levels=[MAXINT64], per_pod_target=1, expect_replicas=MAXINT32,
            expect_usage=MAXINT64)),
    ]:
        out.append(metric_case(slug(test), t(test), kind=kind, max_replicas=10, note=(
            "The proposal saturates at MaxInt32 (metricReplicas); maxReplicas 10 is below the "
            "legacy scale-up limit max(8*current, 4), so desiredReplicas is 10."), **kw))
    return out


# ---------------------------------------------------------------------------
# horizontal_test.go: TestScalingWithRules (convertDesiredReplicasWithBehaviorRate)
# ---------------------------------------------------------------------------

def rules(pods, pods_period, percent, percent_period, window):
    """generateScalingRules"""
    r = {"stabilizationWindowSeconds": window, "selectPolicy": "Max", "policies": []}
    if pods:
        r["policies"].append({"type": "Pods", "value": pods, "periodSeconds": pods_period})
    if percent:
        r["policies"].append({"type": "Percent", "value": percent, "periodSeconds": percent_period})
    return r


def uniform_events(raw, period):
    """generateEventsUniformDistribution: event idx sits at the centre of its segment.
    Upstream builds them with time.Now() before the reconcile's time.Now(), so they
    are a hair older than the nominal offset (here 1 ms)."""
    seg = period / len(raw)
    return [{"timestamp": NOW - 0.001 - (period - seg * (i + 1) + seg / 2), "replicas": v}
            for i, v in enumerate(raw)]


SCALING_WITH_RULES = [
    # name, current, prenormalized, min, max, up rules, down rules, up events, down events, expected, condition
    ("prenormalized desired replicas within range", 5, 7, 3, 8, None, None, None, None, 7, "DesiredWithinRange"),
    ("prenormalized desired replicas < minReplicas", 3, 1, 2, 8, None, None, None, None, 2, "TooFewReplicas"),
    ("prenormalized desired replicas within range when minReplicas is 0", 1, 0, 0, 10, None, None, None, None, 0, "DesiredWithinRange"),
    ("maxReplicas is the limit because maxReplicas < scaleUpLimit", 20, 1000, 1, 10, None, None, None, None, 10, "TooManyReplicas"),
    ("desired replica count is more than the maximum replica count", 100, 1000, 100, 150, None, None, None, None, 150, "TooManyReplicas"),
    ("scaleUpLimit is the limit because scaleUpLimit < maxReplicas with user policies", 3, 1000, 1, 2000, rules(0, 0, 1, 60, 0), None, None, None, 4, "ScaleUpLimit"),
    ("scaleUp with default behavior", 10, 50, 1, 1000, None, None, None, None, 20, "ScaleUpLimit"),
    ("scaleUp with pods policy larger than percent policy", 10, 500, 1, 1000, rules(100, 60, 100, 60, 0), None, None, None, 110, "ScaleUpLimit"),
    ("scaleUp with percent policy larger than pods policy", 10, 500, 1, 1000, rules(2, 60, 100, 60, 0), None, None, None, 20, "ScaleUpLimit"),
    ("scaleUp with spec MaxReplicas limitation with large pod policy", 10, 50, 1, 1000, rules(100, 60, 0, 0, 0), None, None, None, 50, "DesiredWithinRange"),
    ("scaleUp with spec MaxReplicas limitation with large percent policy", 10, 50, 1, 1000, rules(10000, 60, 0, 0, 0), None, None, None, 50, "DesiredWithinRange"),
    ("scaleUp with pod policy limitation", 10, 50, 1, 1000, rules(30, 60, 0, 0, 0), None, None, None, 40, "ScaleUpLimit"),
    ("scaleUp with percent policy limitation", 10, 50, 1, 1000, rules(0, 0, 200, 60, 0), None, None, None, 30, "ScaleUpLimit"),
    ("scaleDown with percent policy larger than pod policy", 100, 2, 1, 1000, None, rules(20, 60, 1, 60, 300), None, None, 80, "ScaleDownLimit"),
    ("scaleDown with pod policy larger than percent policy", 100, 2, 1, 1000, None, rules(2, 60, 1, 60, 300), None, None, 98, "ScaleDownLimit"),
    ("scaleDown with spec MinReplicas=nil limitation with large pod policy", 10, 0, 1, 1000, None, rules(100, 60, 0, 0, 300), None, None, 1, "TooFewReplicas"),
    ("scaleDown with spec MinReplicas limitation with large percent policy", 10, 2, 5, 1000, None, rules(0, 0, 100, 60, 300), None, None, 5, "TooFewReplicas"),
    ("scaleDown with pod policy limitation", 10, 2, 1, 1000, None, rules(5, 60, 0, 0, 300), None, None, 5, "ScaleDownLimit"),
    ("scaleDown with percent policy limitation", 10, 5, 1, 1000, None, rules(0, 0, 50, 60, 300), None, None, 5, "DesiredWithinRange"),
    ("scaleUp with spec MaxReplicas limitation with large pod policy and events", 100, 500, 1, 200, rules(300, 60, 0, 0, 0), None, ([1, 5, 9], 120), None, 200, "TooManyReplicas"),
    ("scaleUp with spec MaxReplicas limitation with large percent policy and events", 100, 500, 1, 200, rules(0, 0, 10000, 60, 0), None, ([1, 5, 9], 120), None, 200, "TooManyReplicas"),
    ("scaleUp with currentReplicas limitation with rate.PeriodSeconds with a lot of recent scale up events", 100, 500, 1, 1000, rules(5, 120, 0, 0, 0), None, ([1, 5, 9], 120), None, 100, "ScaleUpLimit"),
    ("scaleUp with pod policy and previous scale up events", 100, 500, 1, 1000, rules(150, 120, 0, 0, 0), None, ([1, 5, 9], 120), None, 235, "ScaleUpLimit"),
    ("scaleUp with percent policy and previous scale up events", 100, 500, 1, 1000, rules(0, 0, 200, 120, 0), None, ([1, 5, 9], 120), None, 255, "ScaleUpLimit"),
    ("scaleUp with percent policy and previous scale up and down events", 6, 24, 1, 1000, rules(0, 0, 300, 300, 0), None, ([4], 120), ([2], 120), 16, "ScaleUpLimit"),
    ("scaleDown with default policy and previous events", 10, 5, 1, 1000, None, None, None, ([1, 5, 9], 120), 5, "DesiredWithinRange"),
    ("scaleDown with spec MinReplicas=nil limitation with large pod policy and previous events", 100, 0, 1, 1000, None, rules(115, 120, 0, 0, 300), None, ([1, 5, 9], 120), 1, "TooFewReplicas"),
    ("scaleDown with spec MinReplicas limitation with large pod policy and previous events", 100, 0, 5, 1000, None, rules(130, 120, 0, 0, 300), None, ([1, 5, 9], 120), 5, "TooFewReplicas"),
    ("scaleDown with spec MinReplicas limitation with large percent policy and previous events", 100, 2, 5, 1000, None, rules(0, 0, 100, 120, 300), None, ([1, 5, 9], 120), 5, "TooFewReplicas"),
    ("scaleDown with pod policy limitation and previous events", 100, 2, 1, 1000, None, rules(5, 120, 0, 0, 300), None, ([1, 5, 9], 120), 100, "ScaleDownLimit"),
    ("scaleDown with percent policy limitation and previous events", 100, 0, 1, 1000, None, rules(0, 0, 50, 120, 300), None, ([2, 4, 6], 120), 56, "ScaleDownLimit"),
    ("scaleDown with percent policy and previous scale up and down events", 10, 1, 1, 1000, None, rules(0, 0, 50, 180, 0), ([2], 120), ([4], 120), 6, "ScaleDownLimit"),
    ("scaleDown with previous events preventing further scale down", 100, 0, 1, 1000, None, rules(0, 0, 10, 120, 300), None, ([10, 10, 10], 120), 100, "ScaleDownLimit"),
    ("scaleDown with with previous events still allowing more scale down", 10, 5, 1, 1000, None, rules(0, 0, 1000, 120, 300), None, ([10, 10, 10], 120), 5, "DesiredWithinRange"),
    ("check 'outdated' flag for events for one behavior for up", 100, 200, 1, 1000, rules(1000, 60, 0, 0, 0), None, ([8, 12, 9, 11], 120), None, 200, "DesiredWithinRange"),
    ("check that events were not marked 'outdated' for two different policies in the behavior for up", 100, 200, 1, 1000, rules(1000, 120, 100, 60, 0), None, ([8, 12, 9, 11], 120), None, 200, "DesiredWithinRange"),
    ("check that events were marked 'outdated' for two different policies in the behavior for up", 100, 200, 1, 1000, rules(1000, 30, 100, 60, 0), None, ([8, 12, 9, 11], 120), None, 200, "DesiredWithinRange"),
    ("check 'outdated' flag for events for one behavior for down", 100, 5, 1, 1000, None, rules(1000, 60, 0, 0, 300), None, ([8, 12, 9, 11], 120), 5, "DesiredWithinRange"),
    ("check that events were not marked 'outdated' for two different policies in the behavior for down", 100, 5, 1, 1000, None, rules(1000, 120, 100, 60, 300), None, ([8, 12, 9, 11], 120), 5, "DesiredWithinRange"),
    ("check that events were marked 'outdated' for two different policies in the behavior for down", 100, 5, 1, 1000, None, rules(1000, 30, 100, 60, 300), None, ([8, 12, 9, 11], 120), 5, "DesiredWithinRange"),
]


def prenormalized_metric(current, proposal):
    """An External metric with a per-pod target of 1 and total `proposal`:
    ratio proposal/current is outside the tolerance in every case below, so the
    proposal is ceil(proposal/1) = proposal (7.4)."""
    assert current == 0 or abs(1 - proposal / current) > 0.1
    return ({"type": "External", "external": {"metric": {"name": "prenormalized"},
                                              "target": {"type": "AverageValue", "averageValue": "1"}}},
            {"prenormalized": [str(proposal)]})


def scaling_rules_cases():
    out = []
    for (name, cur, pre, mn, mx, up, down, up_ev, down_ev, want, cond) in SCALING_WITH_RULES:
        metric, ext = prenormalized_metric(cur, pre)
        behavior = {}
        if up is not None:
            behavior["scaleUp"] = up
        if down is not None:
            behavior["scaleDown"] = down
        snap = {"name": "rules-" + name.replace(" ", "-").replace("'", ""),
                "source": HZ + ":TestScalingWithRules/" + name, "now": NOW,
                "config": dict(UNIT_CONFIG),
                "hpa": {"minReplicas": mn, "maxReplicas": mx, "metrics": [metric], "behavior": behavior},
                "currentReplicas": cur, "pods": [], "externalMetrics": ext, "recommendations": [],
                "scaleUpEvents": uniform_events(*up_ev) if up_ev else [],
                "scaleDownEvents": uniform_events(*down_ev) if down_ev else [],
                "note": ("Upstream calls convertDesiredReplicasWithBehaviorRate with the prenormalized "
                         "count; here an External per-pod metric proposes it and the empty history "
                         "makes stabilization a no-op. Unset rules take GenerateHPAScale*Rules(nil)."),
                "expect": {"desiredReplicas": want, "error": False, "reason": cond}}
        if cur > mx:
            snap["note"] += " currentReplicas > maxReplicas: the reconcile's early exit gives the same answer."
        else:
            snap["expect"]["metricReplicas"] = [pre]
        out.append(snap)
    return out


def normalize_desired_cases():
    """TestNormalizeDesiredReplicas: legacy stabilizeRecommendation (5 min window)."""
    out = []
    for name, recs, pre, want in [
        ("empty log", [], 5, 5),
        ("stabilize", [(4, 120), (5, 60)], 3, 5),
        ("no stabilize", [(1, 120), (2, 60)], 3, 3),
        ("no stabilize - old recommendations", [(10, 600), (9, 540)], 3, 3),
        ("stabilize - old recommendations", [(10, 600), (4, 60), (5, 120), (9, 540)], 3, 5),
    ]:
        current = 5 if pre != 5 else 4
        metric, ext = prenormalized_metric(current, pre)
        out.append({
            "name": "legacy-stabilize-" + name.replace(" ", "-"),
            "source": HZ + ":TestNormalizeDesiredReplicas/" + name, "now": NOW,
            "config": dict(UNIT_CONFIG),
            "hpa": {"minReplicas": 1, "maxReplicas": 100, "metrics": [metric]},
            "currentReplicas": current, "pods": [], "externalMetrics": ext,
            "recommendations": [{"timestamp": NOW - 0.001 - ago, "replicas": r} for r, ago in recs],
            "note": ("Upstream calls stabilizeRecommendation directly; here an External per-pod "
                     "metric proposes the prenormalized count and the clamp (min 1, max 100, "
                     "8*current) does not bind."),
            "expect": {"desiredReplicas": want, "error": False, "metricReplicas": [pre]}})
    return out


def normalize_with_behavior_cases():
    """TestNormalizeDesiredReplicasWithBehavior: stabilizeRecommendationWithBehaviors.
    Upstream sets only the two windows (unset fields are 0); the policies here
    (scale up by 1000 pods, down by 100 %) never bind, so the decision is the
    stabilized count."""
    out = []
    for name, recs, cur, pre, want, up_w, down_w in [
        ("empty recommendations for scaling down", [], 100, 5, 5, 0, 0),
        ("simple scale down stabilization", [(4, 120), (5, 60)], 100, 3, 5, 0, 180),
        ("simple scale up stabilization", [(4, 120), (5, 60)], 1, 7, 4, 300, 0),
        ("no scale down stabilization", [(1, 120), (2, 60)], 100, 3, 3, 300, 0),
        ("no scale up stabilization", [(4, 120), (5, 60)], 1, 3, 3, 0, 300),
        ("no scale down stabilization, reuse recommendation element", [(10, 600), (9, 540)], 100, 3, 3, 0, 0),
        ("no scale up stabilization, reuse recommendation element", [(10, 600), (9, 540)], 1, 100, 100, 0, 0),
        ("scale down stabilization, reuse one of obsolete recommendation element",
         [(10, 600), (4, 60), (5, 120), (9, 540)], 100, 3, 5, 0, 180),
        ("scale up stabilization, reuse one of obsolete recommendation element",
         [(10, 6000), (6, 60), (5, 120), (9, 180)], 1, 100, 5, 300, 0),
        ("scale up and down stabilization, do not scale up when prenormalized rec goes down",
         [(2, 6000), (3, 180)], 2, 1, 2, 300, 300),
        ("scale up and down stabilization, do not scale down when prenormalized rec goes up",
         [(2, 6000), (1, 180)], 2, 3, 2, 300, 300),
    ]:
        metric, ext = prenormalized_metric(cur, pre)
        out.append({
            "name": "behavior-stabilize-" + name.replace(" ", "-").replace(",", ""),
            "source": HZ + ":TestNormalizeDesiredReplicasWithBehavior/" + name, "now": NOW,
            "config": dict(UNIT_CONFIG),
            "hpa": {"minReplicas": 1, "maxReplicas": 200, "metrics": [metric], "behavior": {
                "scaleUp": {"stabilizationWindowSeconds": up_w,
                            "policies": [{"type": "Pods", "value": 1000, "periodSeconds": 15}]},
                "scaleDown": {"stabilizationWindowSeconds": down_w,
                              "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}}},
            "currentReplicas": cur, "pods": [], "externalMetrics": ext,
            "recommendations": [{"timestamp": NOW - 0.001 - ago, "replicas": r} for r, ago in recs],
            "note": normalize_with_behavior_cases.__doc__.split("\n", 1)[1].strip(),
            "expect": {"desiredReplicas": want, "error": False, "metricReplicas": [pre]}})
    return out


# ---------------------------------------------------------------------------
# horizontal_test.go: whole reconciles (legacy path, first reconcile)
# ---------------------------------------------------------------------------

def hz_pods(requests, readiness=None, start=None, phase=None, deleting=None):
    """prepareTestClient: each container requests request/2; the Ready
    condition's lastTransitionTime is the pod's start time."""
    pods = []
    for i, req in enumerate(requests):
        milli = int(req[:-1]) if req.endswith("m") else int(round(float(req) * 1000))
        half = milli // 2
        st = start[i] if start else 0.0
        pod = {"name": f"test-pod-{i}", "phase": phase[i] if phase else "Running",
               "ready": readiness[i] if readiness else True, "startTime": st,
               "readyTransitionTime": st,
               "containers": [{"name": "container1", "requests": {"cpu": f"{half}m"}},
                              {"name": "container2", "requests": {"cpu": f"{half}m"}}]}
        if deleting and deleting[i]:
            pod["deleting"] = True
        pods.append(pod)
    return pods


def hz_case(test, min_r, max_r, spec, status, want, levels, requests=None, cpu_target=None,
            cm_target=None, readiness=None, start=None, phase=None, deleting=None, util=None,
            obj=None, ext=None, history=None, reason="DesiredWithinRange"):
    """A horizontal_test.go testCase. Without reportedCPURequests upstream makes
    statusReplicas pods requesting 1.0 each. history=None is a fresh controller
    (recommendations: nil); [] an existing empty one."""
    if requests is None:
        requests = ["1.0"] * status
    snap = {"name": "hz-" + test.replace("Test", "", 1).replace("#", "-"), "source": HZ + ":" + test,
            "now": NOW,
            "config": dict(UNIT_CONFIG), "currentReplicas": spec, "statusReplicas": status,
            "pods": hz_pods(requests, readiness, start, phase, deleting),
            "note": ("A whole reconcile on the legacy path. " +
                     ("A fresh controller: no history, seeded with currentReplicas. " if history is None
                      else "recommendations: [] (an existing, empty history). ") +
                     "Resource samples are taken at the reconcile instant; each pod reports "
                     "level/2 per container.")}
    if history is not None:
        snap["recommendations"] = history
    described = {"kind": "Deployment", "apiVersion": "apps/v1", "name": "some-deployment"}
    if obj is not None:
        kind, target = obj
        t = ({"type": "Value", "value": target} if kind == "Value"
             else {"type": "AverageValue", "averageValue": target})
        metric = {"type": "Object", "object": {"metric": {"name": "qps"}, "describedObject": described,
                                               "target": t}}
        snap["objectMetrics"] = {"qps": f"{levels[0]}m"}
    elif ext is not None:
        kind, target = ext
        t = ({"type": "Value", "value": target} if kind == "Value"
             else {"type": "AverageValue", "averageValue": target})
        metric = {"type": "External", "external": {"metric": {"name": "qps", "selector": {}},
                                                   "target": t}}
        snap["externalMetrics"] = {"qps": [f"{lv}m" for lv in levels]}
    else:
        # CPUTarget first, then metricsTarget (a Pods metric reading the same levels).
        metric = []
        snap["podMetrics"] = {}
        if cpu_target is not None:
            metric.append({"type": "Resource", "resource": {"name": "cpu", "target": {
                "type": "Utilization", "averageUtilization": cpu_target}}})
            snap["podMetrics"]["cpu"] = {f"test-pod-{i}": {"value": f"{2 * (lv // 2)}m",
                                                           "timestamp": NOW, "window": 60}
                                         for i, lv in enumerate(levels)}
        if cm_target is not None:
            metric.append({"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {
                "type": "AverageValue", "averageValue": cm_target}}})
            snap["podMetrics"]["qps"] = {f"test-pod-{i}": {"value": f"{lv}m", "timestamp": NOW}
                                         for i, lv in enumerate(levels)}
    metrics = metric if isinstance(metric, list) else [metric]
    snap["hpa"] = {"minReplicas": min_r, "maxReplicas": max_r, "metrics": metrics}
    # reason: upstream's expected ScalingLimited reason (statusOk: DesiredWithinRange), or the
    # AbleToScale reason ScaleDownStabilized where that is what held the count.
    snap["expect"] = {"desiredReplicas": want, "error": False, "reason": reason}
    if util is not None:
        snap["expect"]["utilization"] = util
    return snap


def horizontal_cases():
    one3 = ["1.0"] * 3
    one4 = ["1.0"] * 4
    return [
        hz_case("TestScaleUpHotCpuLessScale", 2, 6, 3, 3, 4, [300, 500, 700], one3, cpu_target=30,
                start=[HOT, COOL, COOL], util=60),
        hz_case("TestScaleUpUnreadyNoScale", 2, 6, 3, 3, 3, [400, 500, 700], one3, cpu_target=30,
                readiness=[True, False, False], util=40),
        hz_case("TestScaleUpHotCpuNoScale", 2, 6, 3, 3, 3, [400, 500, 700], one3, cpu_target=30,
                readiness=[True, False, False], start=[COOL, HOT, HOT], util=40),
        hz_case("TestScaleUpIgnoresFailedPods", 2, 6, 2, 2, 4, [500, 700], one4, cpu_target=30,
                readiness=[True, True, False, False], phase=["Running", "Running", "Failed", "Failed"],
                util=60),
        hz_case("TestScaleUpIgnoresDeletionPods", 2, 6, 2, 2, 4, [500, 700], one4, cpu_target=30,
                readiness=[True, True, False, False], phase=["Running"] * 4,
                deleting=[False, False, True, True], util=60),
        hz_case("TestScaleUpDeployment", 2, 6, 3, 3, 5, [300, 500, 700], one3, cpu_target=30, util=50),
        hz_case("TestScaleUpCM", 2, 6, 3, 3, 4, [20000, 10000, 30000], one3, cm_target="15.0"),
        hz_case("TestScaleUpCMUnreadyAndHotCpuNoLessScale", 2, 6, 3, 3, 6, [50000, 10000, 30000], one3,
                cm_target="15.0", readiness=[True, True, False], start=[COOL, COOL, HOT]),
        hz_case("TestScaleUpCMUnreadyandCpuHot", 2, 6, 3, 3, 6, [50000, 15000, 30000], one3,
                cm_target="15.0", readiness=[False, True, False], start=[HOT, COOL, HOT],
                reason="TooManyReplicas"),
        hz_case("TestScaleUpHotCpuNoScaleWouldScaleDown", 2, 6, 3, 3, 6, [50000, 15000, 30000], one3,
                cm_target="15.0", start=[HOT, COOL, HOT], reason="TooManyReplicas"),
        hz_case("TestScaleDownStabilizeInitialSize", 2, 6, 5, 5, 5, [100, 300, 500, 250, 250],
                cpu_target=50, util=28, reason="ScaleDownStabilized"),
        hz_case("TestScaleDownCM", 2, 6, 5, 5, 3, [12000] * 5, cm_target="20.0", history=[]),
        hz_case("TestScaleDownCMObject", 2, 6, 5, 5, 3, [12000], obj=("Value", "20.0"), history=[]),
        hz_case("TestScaleDownToZeroCMObject", 0, 6, 5, 5, 0, [0], obj=("Value", "20.0"), history=[]),
        hz_case("TestScaleDownPerPodCMObject", 2, 6, 5, 5, 3, [60000], obj=("AverageValue", "20.0"),
                history=[]),
        hz_case("TestScaleDownCMExternal", 2, 6, 5, 5, 3, [8600], ext=("Value", "14400m"), history=[]),
        hz_case("TestScaleDownToZeroCMExternal", 0, 6, 5, 5, 0, [0], ext=("Value", "14400m"), history=[]),
        hz_case("TestScaleDownPerPodCMExternal", 2, 6, 5, 5, 3, [8600], ext=("AverageValue", "3000m"),
                history=[]),
        hz_case("TestScaleDownIncludeUnreadyPods", 2, 6, 5, 5, 2, [100, 300, 500, 250, 250],
                cpu_target=50, readiness=[True, True, True, False, False], util=30, history=[]),
        hz_case("TestScaleDownIgnoreHotCpuPods", 2, 6, 5, 5, 2, [100, 300, 500, 250, 250],
                cpu_target=50, start=[COOL, COOL, COOL, HOT, HOT], util=30, history=[]),
        hz_case("TestScaleDownIgnoresFailedPods", 2, 6, 5, 5, 3, [100, 300, 500, 250, 250],
                ["1.0"] * 7, cpu_target=50, readiness=[True] * 5 + [False] * 2,
                phase=["Running"] * 5 + ["Failed"] * 2, util=28, history=[]),
        hz_case("TestNoBackoffUpscaleCM", 1, 5, 3, 3, 4, [20000, 10000, 30000], one3, cm_target="15.0"),
        hz_case("TestNoBackoffUpscaleCMNoBackoffCpu", 1, 5, 3, 3, 5, [20000, 10000, 30000], one3,
                cpu_target=10, cm_target="15.0", reason="TooManyReplicas"),
        hz_case("TestStabilizeDownscale", 1, 5, 4, 4, 4, [50, 50, 50], ["0.1"] * 3, cpu_target=100,
                history=[{"timestamp": NOW - 0.001 - 600, "replicas": 10},
                         {"timestamp": NOW - 0.001 - 60, "replicas": 4}],
                reason="ScaleDownStabilized"),
        hz_case("TestComputedToleranceAlgImplementation", 0, 1000, 10, 10, 9, [150] * 10,
                [f"{300 + d}m" for d in (100, -100, 10, -10, 2, -2, 1, -1, 0, 0)], cpu_target=56,
                history=[], util=50),
        hz_case("TestComputedToleranceAlgImplementation#2", 0, 1000, 10, 10, 10, [150] * 10,
                [f"{300 + d}m" for d in (100, -100, 10, -10, 2, -2, 1, -1, 0, 0)], cpu_target=55,
                history=[], util=50),
        hz_case("TestScaleUpRCImmediately", 2, 6, 1, 1, 2, [0, 0, 0, 0], one4, reason="TooFewReplicas"),
        hz_case("TestScaleDownRCImmediately", 2, 5, 6, 6, 5, [8000, 9500, 1000], ["0.9", "1.0", "1.1"],
                cpu_target=50, reason="TooManyReplicas"),
    ] + partial_metric_cases()


def partial_metric_cases():
    """A second metric that fails: scale up on the valid one (still an error),
    never scale down (computeReplicasForMetrics)."""
    ext = {"type": "External", "external": {"metric": {"name": "qps", "selector": {}},
                                            "target": {"type": "Value", "value": "100m"}}}
    up = hz_case("TestScaleUpOneMetricEmpty", 2, 6, 3, 3, 4, [300, 400, 500], ["1.0"] * 3, cpu_target=30)
    up["hpa"]["metrics"].append(ext)
    up["expect"].update({"error": True, "metricReplicas": [4, None]})
    cheese = hz_case("TestNoScaleDownOneMetricInvalid", 2, 6, 5, 5, 5, [100, 300, 500, 250, 250],
                     cpu_target=50, history=[], reason="InvalidMetricSourceType")
    cheese["hpa"]["metrics"].append({"type": "CheddarCheese"})
    cheese["expect"].update({"error": True, "metricReplicas": [3, None]})
    empty = hz_case("TestNoScaleDownOneMetricEmpty", 2, 6, 5, 5, 5, [100, 300, 500, 250, 250],
                    cpu_target=50, history=[], reason="FailedGetExternalMetric")
    ext2 = json.loads(json.dumps(ext))
    ext2["external"]["target"]["value"] = "1"
    empty["hpa"]["metrics"].append(ext2)
    empty["expect"].update({"error": True, "metricReplicas": [3, None]})
    for c in (up, cheese, empty):
        c["note"] += " The second metric's API call fails (no samples in the snapshot)."
    return [up, cheese, empty]


def write(name, cases):
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), name)
    with open(path, "w") as f:
        json.dump(cases, f, indent=1)
        f.write("\n")
    print(f"{name}: {len(cases)} cases")


if __name__ == "__main__":
    write("replica_calculator.json", replica_calculator_cases())
    write("scaling_rules.json",
          scaling_rules_cases() + normalize_desired_cases() + normalize_with_behavior_cases())
    write("horizontal.json", horizontal_cases())
