//! Composition recipes, run: an app that already has its own `tracing_subscriber` registry
//! and its own OpenTelemetry spans gets ONE trace holding its spans and ours, exported either
//! by its own pipeline (recipe A) or by ours (recipe B).

mod common;

use common::*;
use mlflow_tracing::{Config, MlflowSpanProcessor};
use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::{TraceContextExt as _, Tracer as _, TracerProvider as _};
use opentelemetry::Context;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SimpleSpanProcessor};
use tracing::Instrument as _;
use tracing_subscriber::prelude::*;

/// Recipe A, "exported by its pipeline": the app's own `SdkTracerProvider` gets our
/// `MlflowSpanProcessor` around its processor, and its registry gets our pipeline layer next
/// to its own OpenTelemetry layer. Its OTel-API span, its `tracing` span and our LLM span form
/// one tree, exported by the app's exporter.
#[tokio::test]
async fn app_pipeline_exports_its_spans_and_ours_in_one_trace() {
    let exporter = InMemorySpanExporter::default();
    let processor = MlflowSpanProcessor::new(SimpleSpanProcessor::new(exporter.clone()));
    let pipeline = processor.pipeline_layer(&Config::new());
    let provider = SdkTracerProvider::builder()
        .with_span_processor(processor)
        .build();
    let app_tracer = provider.tracer("my-app");
    let subscriber = tracing_subscriber::registry()
        .with(pipeline)
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("my-app-tracing")))
        .with(tracing_subscriber::fmt::layer().with_test_writer());
    let _default = tracing::subscriber::set_default(subscriber);

    let mock = MockDeepSeek::start().await;
    let client = client(&mock);
    // An OTel-API span (the app's own instrumentation) ...
    let job = app_tracer.start("job");
    let cx = Context::current_with_span(job);
    async {
        // ... a `tracing` span inside it, and a traced LLM call inside that.
        client
            .chat()
            .create(seed_request("deepseek-chat"))
            .instrument(tracing::info_span!("handle_request"))
            .await
            .unwrap();
    }
    .with_context(cx.clone())
    .await;
    cx.span().end();
    provider.force_flush().unwrap();

    let spans = exporter.get_finished_spans().unwrap();
    let named = |name: &str| {
        spans
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("{name} not exported"))
    };
    let (job, handle, llm) = (named("job"), named("handle_request"), named("Completions"));
    let trace = job.span_context.trace_id();
    assert!(
        spans.iter().all(|s| s.span_context.trace_id() == trace),
        "one trace"
    );
    assert_eq!(handle.parent_span_id, job.span_context.span_id());
    assert_eq!(llm.parent_span_id, handle.span_context.span_id());
    // Our processor finished the trace at its root (named it), as on our own pipeline.
    assert!(job
        .attributes
        .iter()
        .any(|kv| kv.key.as_str() == "mlflow.traceTag.mlflow.traceName"));
}

/// Recipe B, "exported by ours": the app keeps its own registry (here with its fmt layer) and
/// adds our layer; its OTel-API spans use our pipeline's tracer provider. One trace, exported
/// by our pipeline (the console destination here, read back with `get_trace`).
#[tokio::test]
async fn our_pipeline_exports_the_apps_spans_and_ours_in_one_trace() {
    let (layer, guard) =
        mlflow_tracing::layer(Config::new().with_console().with_stderr_warnings(false)).unwrap();
    let subscriber = tracing_subscriber::registry()
        .with(layer)
        .with(tracing_subscriber::fmt::layer().with_test_writer());
    let _default = tracing::subscriber::set_default(subscriber);
    let app_tracer = guard.tracer_provider().unwrap().tracer("my-app");

    let mock = MockDeepSeek::start().await;
    let client = client(&mock);
    let job = app_tracer.start("job");
    let cx = Context::current_with_span(job);
    async {
        // The `tracing` span is made inside the OTel context, so it joins the job's trace.
        client
            .chat()
            .create(seed_request("deepseek-chat"))
            .instrument(tracing::info_span!(target: "my_app", "handle_request"))
            .await
            .unwrap();
    }
    .with_context(cx.clone())
    .await;
    cx.span().end();

    let trace_id = mlflow_tracing::last_trace_id().expect("the job span ended a trace");
    let trace = mlflow_tracing::get_trace(&trace_id).await.unwrap();
    let names: Vec<&str> = trace.spans.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["job", "handle_request", "Completions"], "{names:?}");
    assert_eq!(
        trace.spans[1].parent_id,
        Some(trace.spans[0].span_id.clone())
    );
    assert_eq!(
        trace.spans[2].parent_id,
        Some(trace.spans[1].span_id.clone())
    );
    drop(guard);
}

/// Recipe C, "your provider, our delivery": an app that builds its own `SdkTracerProvider`
/// puts our `DeliveryProcessor` inside our `MlflowSpanProcessor` and gets what `init` gets on
/// the MLflow route: spans in the experiment, the trace metadata MLflow Python sends
/// (StartTraceV3: source, previews, sizes), and the delivery counts.
#[tokio::test]
async fn your_provider_with_our_delivery_gets_trace_metadata_in_mlflow() {
    let Some(uri) = mlflow_test_uri() else { return };
    let name = format!("composition-delivery-{}", std::process::id());
    let config = e2e_config(&uri, &name);
    let delivery = mlflow_tracing::DeliveryProcessor::new(&config).expect("valid config");
    let handle = delivery.handle();
    handle
        .wait_until_ready(std::time::Duration::from_secs(30))
        .expect("MLflow answers");
    let experiment = handle.experiment_id().expect("resolved");
    let processor = MlflowSpanProcessor::new(delivery);
    let pipeline = processor.pipeline_layer(&config);
    let provider = SdkTracerProvider::builder()
        .with_span_processor(processor)
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(pipeline)
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("my-app")));
    let mock = MockDeepSeek::start().await;
    let client = client(&mock);
    {
        let _default = tracing::subscriber::set_default(subscriber);
        client
            .chat()
            .create(seed_request("deepseek-chat"))
            .await
            .unwrap();
    }
    // The SDK's own default (5 s) is short for a busy test MLflow: give the e2e timeout.
    provider
        .shutdown_with_timeout(std::time::Duration::from_secs(30))
        .expect("delivered");
    let stats = handle.stats();
    assert_eq!((stats.finished, stats.exported), (1, 1), "{stats:?}");
    assert_eq!(stats.trace_metadata_stored, 1, "{stats:?}");

    let ids = search_traces(&uri, &experiment, "").await;
    assert_eq!(ids.len(), 1, "{ids:?}");
    let trace: serde_json::Value = reqwest::Client::new()
        .get(format!("{uri}/api/3.0/mlflow/traces/get"))
        .query(&[("trace_id", ids[0].as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let metadata = &trace["trace"]["trace_info"]["trace_metadata"];
    assert_eq!(metadata["mlflow.source.type"], "LOCAL", "{metadata}");
    let sizes: serde_json::Value = serde_json::from_str(
        metadata["mlflow.trace.sizeStats"]
            .as_str()
            .expect("sizeStats"),
    )
    .unwrap();
    assert_eq!(sizes["num_spans"], 1, "{sizes}");
    assert!(
        metadata["mlflow.traceInputs"]
            .as_str()
            .is_some_and(|s| s.contains("capital of France")),
        "{metadata}"
    );
}
