use super::*;
use runboard_proto::prost_types::Value as PbValue;

fn number(n: f64) -> PbValue {
    PbValue {
        kind: Some(PbKind::NumberValue(n)),
    }
}

fn text(s: &str) -> PbValue {
    PbValue {
        kind: Some(PbKind::StringValue(s.into())),
    }
}

fn start(values: &[(&str, PbValue)], group: &str) -> Vec<u8> {
    HParamsPluginData {
        version: 0,
        data: Some(Data::SessionStartInfo(SessionStartInfo {
            hparams: values
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
            group_name: group.into(),
            ..SessionStartInfo::default()
        })),
    }
    .encode_to_vec()
}

fn last(run: &str, tag: &str, step: i64, value: f64) -> (String, String, LastScalar) {
    (
        run.into(),
        tag.into(),
        LastScalar {
            step,
            wall_time: step as f64,
            value,
        },
    )
}

/// Three sessions (two in group `g`), each with a `loss`; `b` has an `acc` in `b/eval`.
fn logged() -> Logged {
    let rows = vec![
        (
            "a".to_owned(),
            tag::SESSION_START.to_owned(),
            start(&[("lr", number(0.1)), ("opt", text("adam"))], "g"),
        ),
        (
            "b".to_owned(),
            tag::SESSION_START.to_owned(),
            start(&[("lr", number(0.3)), ("opt", text("adam"))], "g"),
        ),
        (
            "c".to_owned(),
            tag::SESSION_START.to_owned(),
            start(&[("lr", text("auto")), ("opt", text("sgd"))], ""),
        ),
        (
            "d".to_owned(),
            tag::SESSION_START.to_owned(),
            vec![0xff, 0x01],
        ),
    ];
    Logged::new(
        rows,
        vec![
            last("a", "loss", 10, 1.0),
            last("b", "loss", 21, 3.0),
            last("b/eval", "acc", 5, 0.5),
            last("c", "loss", 7, 2.0),
            last("other", "loss", 1, 9.0),
        ],
    )
}

fn all_statuses() -> SessionGroupsRequest {
    SessionGroupsRequest {
        allowed_statuses: vec![0, 1, 2, 3],
        slice_size: 100,
        ..SessionGroupsRequest::default()
    }
}

#[test]
fn undecodable_plugin_data_is_left_out_and_said() {
    let l = logged();
    assert_eq!(l.runs.len(), 4);
    assert_eq!(l.sessions().count(), 3);
    assert_eq!(
        l.undecodable,
        [("d".to_owned(), tag::SESSION_START.to_owned())]
    );
}

#[test]
fn an_experiment_is_built_from_the_sessions_when_none_is_declared() {
    let e = experiment(&logged(), true, 0);
    let names: Vec<&str> = e.hparam_infos.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["lr", "opt"]);
    // A number in two runs and a string in one: a string, its domain the values' JSON text.
    let lr = &e.hparam_infos[0];
    assert_eq!(lr.r#type, pb::DataType::String as i32);
    let domain = match &lr.domain {
        Some(pb::h_param_info::Domain::DomainDiscrete(l)) => l
            .values
            .iter()
            .map(|v| value_string(v).unwrap())
            .collect::<Vec<_>>(),
        other => panic!("{other:?}"),
    };
    assert_eq!(domain, ["0.1", "0.3", "auto"]);
    assert!(lr.differs);
    // Metrics: every scalar tag of a session run or a run below one, by (tag, group).
    let metrics: Vec<(String, String)> = e
        .metric_infos
        .iter()
        .map(|m| {
            let n = m.name.clone().unwrap();
            (n.tag, n.group)
        })
        .collect();
    assert_eq!(
        metrics,
        [
            ("acc".into(), "eval".into()),
            ("loss".into(), String::new())
        ]
    );
    assert!(experiment(&logged(), false, 0).metric_infos.is_empty());
    assert_eq!(experiment(&logged(), true, 1).hparam_infos.len(), 1);
}

#[test]
fn groups_average_their_sessions_metrics() {
    let groups = session_groups(&logged(), &all_statuses()).unwrap();
    assert_eq!(groups.total_size, 2);
    let g = &groups.session_groups[1];
    assert_eq!(g.name, "g");
    assert_eq!(g.sessions.len(), 2);
    let loss = find_metric(
        &g.metric_values,
        &pb::MetricName {
            group: String::new(),
            tag: "loss".into(),
        },
    )
    .unwrap();
    assert_eq!(loss.value, 2.0);
    assert_eq!(loss.training_step, 15); // (10 + 21) // 2
    // The first session's hyperparameters.
    assert_eq!(g.hparams["lr"], number(0.1));
}

#[test]
fn min_max_and_median_pick_a_session_and_a_missing_metric_gives_none() {
    let acc = MetricNameRequest {
        group: "eval".into(),
        tag: "acc".into(),
    };
    for kind in [2, 3, 4] {
        let r = SessionGroupsRequest {
            aggregation_type: kind,
            aggregation_metric: Some(acc.clone()),
            ..all_statuses()
        };
        let groups = session_groups(&logged(), &r).unwrap();
        // `g`: only `b` has acc, so its metrics are b's; `c` has no acc: no metrics (no panic).
        let g = &groups.session_groups[1];
        assert_eq!(g.metric_values, g.sessions[1].metric_values);
        assert!(groups.session_groups[0].metric_values.is_empty());
    }
}

#[test]
fn filters_sorts_pages_and_columns() {
    let col = |hparam: &str| ColParams {
        hparam: Some(hparam.into()),
        ..ColParams::default()
    };
    // Descending by loss: c (2.0) then g (mean 2.0 too: ties keep name order) ...
    let mut r = all_statuses();
    r.col_params = vec![ColParams {
        metric: Some(MetricNameRequest {
            group: String::new(),
            tag: "loss".into(),
        }),
        order: 2,
        ..ColParams::default()
    }];
    let names = |r: &SessionGroupsRequest| -> Vec<String> {
        session_groups(&logged(), r)
            .unwrap()
            .session_groups
            .into_iter()
            .map(|g| g.name)
            .collect()
    };
    assert_eq!(names(&r), ["c", "g"]);
    r.col_params = vec![ColParams {
        filter_discrete: Some(vec![serde_json::json!("sgd")]),
        ..col("opt")
    }];
    assert_eq!(names(&r), ["c"]);
    r.col_params = vec![ColParams {
        filter_regexp: Some("^ad".into()),
        include_in_result: Some(true),
        ..col("opt")
    }];
    assert_eq!(names(&r), ["g"]);
    let g = session_groups(&logged(), &r).unwrap();
    assert_eq!(
        g.session_groups[0].hparams.len(),
        1,
        "only the included column"
    );
    // A page past the end, and Python's negative start.
    r.col_params.clear();
    r.start_index = 5;
    assert!(names(&r).is_empty());
    r.start_index = -1;
    assert_eq!(names(&r), ["g"]);
    assert_eq!(python_slice(3, -5, 2), (0, 0));
    assert_eq!(python_slice(3, 1, 0), (1, 1));
    // No allowed status: nothing.
    r.allowed_statuses.clear();
    r.start_index = 0;
    assert_eq!(session_groups(&logged(), &r).unwrap().total_size, 0);
}

#[test]
fn requests_tensorboard_would_refuse_are_errors_not_panics() {
    let refuse = |c: ColParams| {
        let r = SessionGroupsRequest {
            col_params: vec![c],
            ..all_statuses()
        };
        session_groups(&logged(), &r).unwrap_err()
    };
    refuse(ColParams::default()); // neither metric nor hparam
    refuse(ColParams {
        hparam: Some("lr".into()),
        metric: Some(MetricNameRequest::default()),
        ..ColParams::default()
    });
    let e = refuse(ColParams {
        hparam: Some("lr".into()),
        filter_regexp: Some("(".into()),
        ..ColParams::default()
    });
    assert!(e.0.contains("filter regexp"), "{e}");
    // A regex over numbers, an interval over strings.
    refuse(ColParams {
        metric: Some(MetricNameRequest {
            group: String::new(),
            tag: "loss".into(),
        }),
        filter_regexp: Some("1".into()),
        ..ColParams::default()
    });
    refuse(ColParams {
        hparam: Some("opt".into()),
        filter_interval: Some(IntervalRequest {
            min_value: 0.0,
            max_value: 1.0,
        }),
        ..ColParams::default()
    });
    let r = SessionGroupsRequest {
        aggregation_type: 9,
        ..all_statuses()
    };
    assert!(session_groups(&logged(), &r).is_err());
}

#[test]
fn requests_parse_as_protobuf_json_does() {
    let r: SessionGroupsRequest = serde_json::from_str(
        r#"{"allowedStatuses":["STATUS_SUCCESS",3],"slice_size":"10","startIndex":2,
            "colParams":[{"hparam":"lr","order":"ORDER_DESC","filterDiscrete":[1,"a",true]}],
            "aggregationType":"AGGREGATION_MEDIAN","includeMetrics":false}"#,
    )
    .unwrap();
    assert_eq!(r.allowed_statuses, [1, 3]);
    assert_eq!((r.start_index, r.slice_size), (2, 10));
    assert_eq!(r.col_params[0].order, 2);
    assert_eq!(r.aggregation_type, 2);
    assert_eq!(r.include_metrics, Some(false));
    for bad in [
        r#"{"nope":1}"#,
        r#"{"allowedStatuses":["STATUS_X"]}"#,
        r#"{"sliceSize":1.5}"#,
        r#"{"sliceSize":"x"}"#,
        r#"{"sliceSize":3000000000}"#,
    ] {
        assert!(
            serde_json::from_str::<SessionGroupsRequest>(bad).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn strings_in_domains_are_json_text_with_ascii_escapes() {
    assert_eq!(json_ascii("say \"hi\"\\\n"), "say \\\"hi\\\"\\\\\\n");
    assert_eq!(json_ascii("café 😀"), "caf\\u00e9 \\ud83d\\ude00");
    assert_eq!(value_string(&number(1e-5)).unwrap(), "1e-05");
    assert_eq!(value_string(&number(f64::NAN)), None);
}

#[test]
fn the_session_run_of_a_metric_is_the_longest_parent_that_is_a_session() {
    let sessions = ["a", "a/b"];
    assert_eq!(session_of(&sessions, "a/b/c/d"), Some("a/b"));
    assert_eq!(session_of(&sessions, "a/x"), Some("a"));
    assert_eq!(session_of(&sessions, "ab"), None);
    let m = pb::MetricName {
        group: "eval".into(),
        tag: "acc".into(),
    };
    assert_eq!(metric_run("a/b", &m), "a/b/eval");
    assert_eq!(metric_run("a", &pb::MetricName::default()), "a");
}

#[test]
fn the_overview_merges_declared_experiments_and_lists_every_session() {
    let declare = |hparams: Vec<pb::HParamInfo>, metric: &str| {
        HParamsPluginData {
            version: 0,
            data: Some(Data::Experiment(Experiment {
                hparam_infos: hparams,
                metric_infos: vec![pb::MetricInfo {
                    name: Some(pb::MetricName {
                        group: String::new(),
                        tag: metric.into(),
                    }),
                    ..pb::MetricInfo::default()
                }],
                ..Experiment::default()
            })),
        }
        .encode_to_vec()
    };
    let info = |name: &str| pb::HParamInfo {
        name: name.into(),
        ..pb::HParamInfo::default()
    };
    let mut l = logged();
    let rows: Vec<(String, String, Vec<u8>)> = vec![
        (
            "a".into(),
            tag::EXPERIMENT.into(),
            declare(vec![info("lr")], "loss"),
        ),
        (
            "c".into(),
            tag::EXPERIMENT.into(),
            declare(vec![info("lr"), info("opt")], "acc"),
        ),
    ];
    let declared = Logged::new(rows, Vec::new());
    for (run, e) in declared.runs.into_iter().map(|r| (r.run, r.experiment)) {
        l.runs.iter_mut().find(|r| r.run == run).unwrap().experiment = e;
    }
    let o = overview(&l);
    assert!(o.declared);
    let names: Vec<&str> = o
        .experiment
        .hparam_infos
        .iter()
        .map(|h| h.name.as_str())
        .collect();
    assert_eq!(names, ["lr", "opt"]);
    // Declared without a domain: the sessions' values give it.
    assert!(o.experiment.hparam_infos[0].domain.is_some());
    assert!(o.experiment.hparam_infos[0].differs);
    let metrics: Vec<&str> = o
        .experiment
        .metric_infos
        .iter()
        .map(|m| m.name.as_ref().unwrap().tag.as_str())
        .collect();
    assert_eq!(metrics, ["loss", "acc"]);
    // Every session, ungrouped, with the group it names; `acc` is in `b/eval`, not `b`.
    let runs: Vec<&str> = o.sessions.iter().map(|s| s.session.name.as_str()).collect();
    assert_eq!(runs, ["a", "b", "c"]);
    assert_eq!(o.sessions[0].group_name, "g");
    assert_eq!(o.sessions[1].session.metric_values.len(), 1);
    // TensorBoard's own answer takes the first run's experiment.
    let tb = experiment(&l, true, 0);
    assert_eq!(tb.hparam_infos.len(), 1);
    assert!(!overview(&logged()).declared);
}

#[test]
fn the_overview_lists_a_mixed_hyperparameters_values_as_logged() {
    let o = overview(&logged());
    let lr = o
        .experiment
        .hparam_infos
        .iter()
        .find(|h| h.name == "lr")
        .unwrap();
    let Some(pb::h_param_info::Domain::DomainDiscrete(l)) = &lr.domain else {
        panic!("{lr:?}")
    };
    assert_eq!(l.values, [number(0.1), number(0.3), text("auto")]);
    // TensorBoard's experiment keeps its JSON text.
    let tb = experiment(&logged(), true, 0);
    let Some(pb::h_param_info::Domain::DomainDiscrete(l)) = &tb.hparam_infos[0].domain else {
        panic!()
    };
    assert_eq!(l.values, [text("0.1"), text("0.3"), text("auto")]);
}

#[test]
fn nan_values_stay_out_of_an_interval() {
    let rows = vec![
        (
            "a".to_owned(),
            tag::SESSION_START.to_owned(),
            start(&[("d", number(0.5))], ""),
        ),
        (
            "b".to_owned(),
            tag::SESSION_START.to_owned(),
            start(&[("d", number(f64::NAN))], ""),
        ),
    ];
    let e = experiment(&Logged::new(rows, Vec::new()), true, 0);
    assert_eq!(
        e.hparam_infos[0].domain,
        Some(pb::h_param_info::Domain::DomainInterval(pb::Interval {
            min_value: 0.5,
            max_value: 0.5
        }))
    );
}
