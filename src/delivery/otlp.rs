//! OTLP requests as data: building one from spans, counting, splitting and merging, and
//! cutting a single span's largest attributes so that it fits. Pure, unit-tested.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::trace::SpanData;

use crate::vocab::json::{capped_json, capped_str};
use crate::vocab::semconv::tracer;

/// Strings this short are never cut.
const MIN_CUT: usize = 256;

/// The OTLP request for `spans`.
pub(crate) fn request(
    spans: Vec<SpanData>,
    resource: &ResourceAttributesWithSchema,
) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: group_spans_by_resource_and_scope(spans, resource),
    }
}

/// Spans in a request.
pub(crate) fn span_count(request: &ExportTraceServiceRequest) -> usize {
    request
        .resource_spans
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .map(|ss| ss.spans.len())
        .sum()
}

/// Splits a request into two with half the spans each (the first gets the smaller half).
pub(crate) fn split(
    request: ExportTraceServiceRequest,
) -> (ExportTraceServiceRequest, ExportTraceServiceRequest) {
    let mut left_wanted = span_count(&request) / 2;
    let (mut left, mut right) = (Vec::new(), Vec::new());
    for rs in request.resource_spans {
        let (mut l_scopes, mut r_scopes) = (Vec::new(), Vec::new());
        for mut ss in rs.scope_spans {
            if left_wanted >= ss.spans.len() {
                left_wanted -= ss.spans.len();
                l_scopes.push(ss);
            } else if left_wanted == 0 {
                r_scopes.push(ss);
            } else {
                let tail = ss.spans.split_off(left_wanted);
                left_wanted = 0;
                r_scopes.push(ScopeSpans {
                    scope: ss.scope.clone(),
                    spans: tail,
                    schema_url: ss.schema_url.clone(),
                });
                l_scopes.push(ss);
            }
        }
        let part = |scope_spans| ResourceSpans {
            resource: rs.resource.clone(),
            scope_spans,
            schema_url: rs.schema_url.clone(),
        };
        if !l_scopes.is_empty() {
            left.push(part(l_scopes));
        }
        if !r_scopes.is_empty() {
            right.push(part(r_scopes));
        }
    }
    (
        ExportTraceServiceRequest {
            resource_spans: left,
        },
        ExportTraceServiceRequest {
            resource_spans: right,
        },
    )
}

/// One request holding the spans of all of `requests`.
pub(crate) fn merge(requests: Vec<ExportTraceServiceRequest>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: requests
            .into_iter()
            .flat_map(|r| r.resource_spans)
            .collect(),
    }
}

fn spans_mut(request: &mut ExportTraceServiceRequest) -> impl Iterator<Item = &mut Span> {
    request
        .resource_spans
        .iter_mut()
        .flat_map(|rs| &mut rs.scope_spans)
        .flat_map(|ss| &mut ss.spans)
}

fn strings_mut(span: &mut Span) -> impl Iterator<Item = &mut String> {
    span.attributes
        .iter_mut()
        .chain(span.events.iter_mut().flat_map(|e| &mut e.attributes))
        .filter_map(|kv| match kv.value.as_mut()?.value.as_mut()? {
            any_value::Value::StringValue(s) => Some(s),
            _ => None,
        })
}

/// Cuts every string attribute (and event attribute) of the request's spans that is longer
/// than half the longest one, keeping JSON valid JSON, and marks the spans with
/// [`tracer::TRUNCATED`]. `false` when nothing is long enough to cut.
pub(crate) fn truncate(request: &mut ExportTraceServiceRequest) -> bool {
    let mut changed = false;
    for span in spans_mut(request) {
        let longest = strings_mut(span).map(|s| s.len()).max().unwrap_or(0);
        let limit = (longest / 2).max(MIN_CUT);
        if longest <= MIN_CUT {
            continue;
        }
        for s in strings_mut(span) {
            if s.len() > limit {
                *s = match serde_json::from_str::<serde_json::Value>(s) {
                    Ok(json) if json.is_object() || json.is_array() => capped_json(&json, limit),
                    _ => capped_str(s, limit),
                };
            }
        }
        if !span.attributes.iter().any(|kv| kv.key == tracer::TRUNCATED) {
            span.attributes.push(KeyValue {
                key: tracer::TRUNCATED.to_owned(),
                value: Some(AnyValue {
                    value: Some(any_value::Value::BoolValue(true)),
                }),
                ..Default::default()
            });
        }
        changed = true;
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::semconv::{deepseek, mlflow};
    use opentelemetry_proto::tonic::trace::v1::span::Event;

    fn text(value: &str) -> Option<AnyValue> {
        Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        })
    }

    fn span(name: &str, attrs: &[(&str, &str)]) -> Span {
        Span {
            name: name.to_owned(),
            attributes: attrs
                .iter()
                .map(|(k, v)| KeyValue {
                    key: (*k).to_owned(),
                    value: text(v),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    fn req(scopes: &[&[&str]]) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: scopes
                    .iter()
                    .map(|names| ScopeSpans {
                        spans: names.iter().map(|n| span(n, &[])).collect(),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
        }
    }

    fn names(r: &ExportTraceServiceRequest) -> Vec<String> {
        r.resource_spans
            .iter()
            .flat_map(|rs| &rs.scope_spans)
            .flat_map(|ss| &ss.spans)
            .map(|s| s.name.clone())
            .collect()
    }

    #[test]
    fn split_halves_across_scopes_and_merge_restores() {
        let r = req(&[&["a", "b", "c"], &["d", "e"]]);
        assert_eq!(span_count(&r), 5);
        let (left, right) = split(r);
        assert_eq!(names(&left), ["a", "b"]);
        assert_eq!(names(&right), ["c", "d", "e"]);
        let (l2, r2) = split(right);
        assert_eq!(names(&l2), ["c"]);
        assert_eq!(names(&r2), ["d", "e"]);
        assert_eq!(names(&merge(vec![left, l2, r2])), ["a", "b", "c", "d", "e"]);
        let (empty, one) = split(req(&[&["x"]]));
        assert_eq!((span_count(&empty), names(&one)), (0, vec!["x".to_owned()]));
    }

    #[test]
    fn truncate_cuts_the_largest_strings_and_keeps_json_valid() {
        let big_json = serde_json::json!({"model": "deepseek-chat", "messages": [{"role": "user", "content": "x".repeat(10_000)}]}).to_string();
        let big_text = "y".repeat(4_000);
        let mut r = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: vec![Span {
                        events: vec![Event {
                            name: "mlflow.chunk.item.0".into(),
                            attributes: vec![KeyValue {
                                key: mlflow::CHUNK_VALUE.into(),
                                value: text(&"z".repeat(8_000)),
                                ..Default::default()
                            }],
                            ..Default::default()
                        }],
                        ..span(
                            "Completions",
                            &[
                                (mlflow::SPAN_INPUTS, &big_json),
                                (deepseek::REASONING_CONTENT, &big_text),
                                (mlflow::SPAN_TYPE, "CHAT_MODEL"),
                            ],
                        )
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        assert!(truncate(&mut r));
        let s = &r.resource_spans[0].scope_spans[0].spans[0];
        let get = |k: &str| {
            s.attributes
                .iter()
                .find(|kv| kv.key == k)
                .and_then(|kv| kv.value.clone()?.value)
        };
        let Some(any_value::Value::StringValue(inputs)) = get(mlflow::SPAN_INPUTS) else {
            panic!("inputs")
        };
        assert!(inputs.len() <= big_json.len() / 2, "{}", inputs.len());
        let json: serde_json::Value = serde_json::from_str(&inputs).expect("valid JSON");
        assert_eq!(json["model"], "deepseek-chat");
        let Some(any_value::Value::StringValue(reasoning)) = get(deepseek::REASONING_CONTENT)
        else {
            panic!("reasoning")
        };
        assert_eq!(reasoning.len(), 4_000, "below half the longest: kept");
        assert_eq!(
            get(mlflow::SPAN_TYPE),
            Some(any_value::Value::StringValue("CHAT_MODEL".into()))
        );
        assert_eq!(
            get(tracer::TRUNCATED),
            Some(any_value::Value::BoolValue(true))
        );
        // Cutting again halves again, down to the floor; then nothing is left to cut.
        while truncate(&mut r) {}
        let s = &mut r.resource_spans[0].scope_spans[0].spans[0];
        assert!(strings_mut(s).all(|v| v.len() <= MIN_CUT));
    }
}
