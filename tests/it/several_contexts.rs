//! Several clusters in one session: each context of one kubeconfig opened, named and numbered.

use meshtap::session::ErrorKind;
use meshtap::source::cluster::{Contexts, Environment, KubeOptions, connect_several};

/// A kubeconfig file with contexts `east` and `west` (nothing listens at their servers:
/// connecting builds clients only).
fn two_contexts(dir: &std::path::Path) -> KubeOptions {
    let mut config =
        meshtap::demo::kubeconfig::build("https://127.0.0.1:1", None, "token", Some("shop"))
            .expect("kubeconfig");
    let mut west = config.clone();
    for (name, c) in [("east", &mut config), ("west", &mut west)] {
        c.clusters[0].name = name.into();
        c.auth_infos[0].name = name.into();
        c.contexts[0].name = name.into();
        if let Some(context) = c.contexts[0].context.as_mut() {
            context.cluster = name.into();
            context.user = Some(name.into());
        }
    }
    config.clusters.extend(west.clusters);
    config.auth_infos.extend(west.auth_infos);
    config.contexts.extend(west.contexts);
    config.current_context = Some("east".into());
    let path = dir.join("config");
    meshtap::demo::kubeconfig::write(&path, &config, false).expect("write");
    KubeOptions {
        kubeconfig: Some(path),
        ..KubeOptions::default()
    }
}

#[tokio::test]
async fn every_context_is_named_and_numbered_and_one_names_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = two_contexts(dir.path());
    let env = Environment::default();
    let all = connect_several(
        &options,
        &env,
        &Contexts::All,
        &[("west".into(), "eu".into())],
    )
    .await
    .expect("all");
    let named: Vec<_> = all
        .iter()
        .map(|c| {
            (
                c.name.as_ref().map(ToString::to_string),
                c.index,
                c.default_namespace.as_str(),
            )
        })
        .collect();
    assert_eq!(
        named,
        [
            (Some("east".into()), 0, "shop"),
            (Some("eu".into()), 1, "shop")
        ]
    );
    let one = connect_several(&options, &env, &Contexts::Named(vec!["west".into()]), &[])
        .await
        .expect("one");
    assert_eq!(one.len(), 1);
    assert!(one[0].name.is_none(), "one cluster stays unnamed");
    let clash = connect_several(
        &options,
        &env,
        &Contexts::All,
        &[("west".into(), "east".into())],
    )
    .await
    .err()
    .expect("two clusters called east");
    assert!(clash.message.contains("\"east\""), "{clash}");
    let stray = connect_several(
        &options,
        &env,
        &Contexts::Current,
        &[("west".into(), "x".into())],
    )
    .await
    .err()
    .expect("west is not open");
    assert_eq!(stray.kind, ErrorKind::UnknownContext);
}

#[test]
fn contexts_keep_their_order_and_drop_repeats() {
    let named = |names: &[&str]| names.iter().map(ToString::to_string).collect::<Vec<_>>();
    assert_eq!(Contexts::new(&[], false), Contexts::Current);
    assert_eq!(Contexts::new(&named(&["a"]), true), Contexts::All);
    assert_eq!(
        Contexts::new(&named(&["west", "east", "west", " "]), false),
        Contexts::Named(named(&["west", "east"]))
    );
}
