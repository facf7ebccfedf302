//! The `OpenAPI` v3 documents kubectl reads before `apply`: its root (`/openapi/v3`, one entry per
//! group version) and each policy group version's document, whose PATCH operations declare the
//! `fieldValidation` query parameter. That is how kubectl (client-go's `queryParamVerifierV3`)
//! learns the server validates fields itself, so it sends `fieldValidation=Strict` instead of
//! downloading schemas to validate on the client. Only the policy kinds are described.

use serde_json::{Map, Value, json};

use super::{GROUP, KINDS, VERSIONS};

const ROOT: &str = "/openapi/v3";

/// The document at `path`, if it is one of ours.
pub fn document(path: &str) -> Option<Value> {
    if path == ROOT {
        return Some(root());
    }
    let version = path
        .strip_prefix(ROOT)?
        .strip_prefix("/apis/")?
        .strip_prefix(GROUP)?
        .strip_prefix('/')?;
    VERSIONS.contains(&version).then(|| group_version(version))
}

fn root() -> Value {
    let paths: Map<String, Value> = VERSIONS
        .iter()
        .map(|v| {
            let url = format!("{ROOT}/apis/{GROUP}/{v}?hash=meshtap-demo-{v}");
            (
                format!("apis/{GROUP}/{v}"),
                json!({ "serverRelativeURL": url }),
            )
        })
        .collect();
    json!({ "paths": paths })
}

fn group_version(version: &str) -> Value {
    let paths: Map<String, Value> = KINDS
        .iter()
        .filter(|k| k.version == version)
        .map(|k| {
            let path = format!(
                "/apis/{GROUP}/{version}/namespaces/{{namespace}}/{}/{{name}}",
                k.plural
            );
            let gvk = json!({ "group": GROUP, "version": version, "kind": k.kind });
            let operation = json!({
                "x-kubernetes-group-version-kind": gvk,
                "parameters": [
                    { "name": "dryRun", "in": "query", "schema": { "type": "string" } },
                    { "name": "fieldValidation", "in": "query", "schema": { "type": "string" } },
                ],
                "responses": { "200": { "description": "OK" } },
            });
            (path, json!({ "patch": operation }))
        })
        .collect();
    json!({
        "openapi": "3.0.0",
        "info": { "title": "meshtap demo", "version": "v1.34.0" },
        "paths": paths,
    })
}
