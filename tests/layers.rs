//! The modules are in layers: no import cycle between top-level modules of `src/` (what
//! `python3 ../shared/tools/cycles.py --folders src` checks, without needing that tool), and
//! each module imports only from the layers the crate docs name below it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The order the crate docs state, from the bottom; a module may import only from modules
/// earlier in this list (`vocab` and `error` share the bottom layer).
const LAYERS: &[&[&str]] = &[
    &["vocab", "error"],
    &["record"],
    &["config"],
    &["transport"],
    &["mlflow"],
    &["delivery"],
    &["metrics"],
    &["setup"],
    &["call"],
    &["openai"],
];

/// Top-level module → the top-level modules its non-test code names as `crate::<module>`.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(&src).unwrap();
            let first = rel
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy();
            let module = first.trim_end_matches(".rs").to_owned();
            if module == "lib" {
                continue; // the root only declares and re-exports
            }
            let text = std::fs::read_to_string(&path).unwrap();
            // Test code at the end of a file may reach anywhere.
            let code = text.split("#[cfg(test)]\nmod tests").next().unwrap();
            let targets = graph.entry(module.clone()).or_default();
            for line in code.lines() {
                let line = line.split("//").next().unwrap();
                for (i, _) in line.match_indices("crate::") {
                    let rest = &line[i + "crate::".len()..];
                    let names: Vec<&str> = match rest.strip_prefix('{') {
                        // `use crate::{a::X, b};`
                        Some(group) => group
                            .split(['}', ';'])
                            .next()
                            .unwrap()
                            .split(',')
                            .map(|item| item.trim().split("::").next().unwrap())
                            .collect(),
                        None => vec![rest
                            .split(|c: char| !c.is_alphanumeric() && c != '_')
                            .next()
                            .unwrap()],
                    };
                    for name in names {
                        if !name.is_empty() && name != module {
                            targets.insert(name.to_owned());
                        }
                    }
                }
            }
        }
    }
    graph
}

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

#[test]
fn modules_import_only_from_the_layers_below() {
    let graph = imports();
    assert!(graph.contains_key("delivery") && graph.contains_key("openai"));
    let mut wrong = Vec::new();
    for (module, targets) in &graph {
        let Some(own) = layer_of(module) else {
            // Files at the root (testing, bench, properties) sit on top of everything.
            continue;
        };
        for target in targets {
            match layer_of(target) {
                Some(layer) if layer < own || (layer == own && target != module) => {}
                Some(_) => wrong.push(format!("{module} → {target}")),
                None if graph.contains_key(target.as_str()) => {
                    wrong.push(format!("{module} → {target} (a root file)"))
                }
                None => {} // an item re-exported at the crate root, such as crate::TARGET
            }
        }
    }
    assert!(wrong.is_empty(), "imports against the layers: {wrong:?}");
}

/// The check sees an import against the layers (positive control).
#[test]
fn the_layer_check_sees_the_imports() {
    let graph = imports();
    assert!(
        graph["delivery"].contains("config"),
        "{:?}",
        graph["delivery"]
    );
    assert!(graph["openai"].contains("call"), "{:?}", graph["openai"]);
    assert_eq!(
        layer_of("config").map(|c| c < layer_of("delivery").unwrap()),
        Some(true)
    );
}
