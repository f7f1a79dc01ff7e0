use super::*;

const TBX_CONFIG: &str = r#"embeddings {
tensor_name: "default:00000"
tensor_path: "00000/default/tensors.tsv"
metadata_path: "00000/default/metadata.tsv"
sprite {
image_path: "00000/default/sprite.png"
single_image_dim: 8
single_image_dim: 8
}
}
embeddings {
tensor_name: "words:00003"
tensor_path: "00003/words/tensors.tsv"
}
"#;

#[test]
fn tensorboardx_configs_parse() {
    let c = parse_config(TBX_CONFIG).unwrap();
    assert_eq!(c.embeddings.len(), 2);
    assert_eq!(c.embeddings[0].tensor_name, "default:00000");
    assert_eq!(
        c.embeddings[0].sprite.as_ref().unwrap().single_image_dim,
        [8, 8]
    );
    assert_eq!(c.embeddings[1].tensor_path, "00003/words/tensors.tsv");
    assert!(parse_config("embeddings { nope: 1 }").is_err());
    assert!(parse_config("embeddings {").is_err());
    assert_eq!(find(&c, "words:00003").map(|(i, _)| i), Some(1));
    assert!(find(&c, "words").is_none());
}

#[test]
fn a_config_belongs_to_its_folder_or_to_the_run_of_its_assets_folder() {
    let logdir = Path::new("/logs");
    let run = |p: &str| run_of_config(logdir, Path::new(p));
    assert_eq!(run("/logs/projector_config.pbtxt").as_deref(), Some("."));
    assert_eq!(
        run("/logs/a/b/projector_config.pbtxt").as_deref(),
        Some("a/b")
    );
    assert_eq!(
        run("/logs/a/plugins/org_tensorflow_tensorboard_projector/projector_config.pbtxt")
            .as_deref(),
        Some("a")
    );
    assert_eq!(run("/elsewhere/projector_config.pbtxt"), None);
}

#[test]
fn tsv_tensors_read_as_python_reads_them_and_bad_ones_say_where() {
    let (rows, dims, t) = parse_tsv("1\t2.5\n\n-3\tnan\n inf\t1e-3\n").unwrap();
    assert_eq!((rows, dims), (3, 2));
    assert_eq!(t[0..3], [1.0, 2.5, -3.0]);
    assert!(t[3].is_nan());
    assert_eq!(t[4], f32::INFINITY);
    // Rounded from the double, as numpy rounds Python's floats.
    let (_, _, t) = parse_tsv("0.1\n").unwrap();
    assert_eq!(t[0], 0.1f64 as f32);
    assert_eq!(
        parse_tsv("1\t2\n3\n").unwrap_err(),
        "tensor line 2: 1 values where the first row has 2"
    );
    assert!(
        parse_tsv("1\tx\n")
            .unwrap_err()
            .contains("\"x\" is not a number")
    );
    assert!(parse_tsv("\n\n").is_err());
    let bytes: Vec<u8> = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    assert_eq!(parse_binary(&bytes, &[3, 2]).unwrap().2[5], 6.0);
    assert!(parse_binary(&bytes, &[4, 2]).is_err());
    assert!(parse_binary(&bytes, &[]).is_err());
}

#[test]
fn metadata_rows_leave_out_a_header() {
    assert_eq!(metadata_rows(b"a\nb\nc\n"), 3);
    assert_eq!(metadata_rows(b"label\tcount\na\t1\nb\t2\n"), 2);
    assert_eq!(metadata_rows(b"a\nb"), 2);
}

#[test]
fn pca_finds_the_direction_of_most_variance() {
    // Points along (1, 2, 2)/3 with a little noise across it.
    let mut rng = Rng(7);
    let rows = 500;
    let mut t = Vec::new();
    for _ in 0..rows {
        let a = rng.normal() * 10.0;
        let b = rng.normal() * 0.1;
        t.extend([
            (a / 3.0 + b) as f32,
            (2.0 * a / 3.0) as f32,
            (2.0 * a / 3.0 - b) as f32 + 5.0,
        ]);
    }
    let p = pca(&t, rows, 3);
    assert_eq!(p.k, 3);
    assert_eq!(p.coords.len(), rows * 3);
    assert!(p.variance[0] > 0.999, "{:?}", p.variance);
    assert!(p.variance[0] >= p.variance[1] && p.variance[1] >= p.variance[2]);
    // The first coordinate recovers `a` (up to the fixed sign: the largest coefficient, 2/3,
    // is positive), centred.
    let mean_a: f32 = (0..rows).map(|r| t[r * 3 + 1] * 1.5).sum::<f32>() / rows as f32;
    for r in 0..rows {
        let a = t[r * 3 + 1] * 1.5 - mean_a;
        assert!((p.coords[r * 3] - a).abs() < 0.5, "row {r}");
    }
    assert!(!p.sampled && !p.projected);
}

#[test]
fn tall_tensors_are_sampled_and_wide_ones_projected() {
    let mut rng = Rng(3);
    let rows = 120_000;
    let t: Vec<f32> = (0..rows * 2).map(|_| rng.normal() as f32).collect();
    let p = pca(&t, rows, 2);
    assert!(p.sampled && !p.projected);
    assert_eq!(p.coords.len(), rows * 2);
    let (rows, dims) = (40, 300);
    // Rows that vary along one direction only: the projection keeps it the first component.
    let t: Vec<f32> = (0..rows)
        .flat_map(|r| (0..dims).map(move |c| (r as f32 - 20.0) * (1.0 + (c % 3) as f32)))
        .collect();
    let p = pca(&t, rows, dims);
    assert!(p.projected && !p.sampled);
    assert_eq!(p.k, PCA_COMPONENTS);
    assert_eq!(p.coords.len(), rows * PCA_COMPONENTS);
    assert!(p.variance[0] > 0.999, "{:?}", p.variance);
    // Its coordinate is proportional to the row's offset from the mean row (19.5).
    let ratio = p.coords[0] / -19.5;
    for r in 0..rows {
        let want = (r as f32 - 19.5) * ratio;
        assert!(
            (p.coords[r * PCA_COMPONENTS] - want).abs() < 1e-2 * ratio.abs() * 20.0,
            "row {r}"
        );
    }
}

#[test]
fn the_config_is_written_as_message_to_json_writes_it() {
    let mut c = parse_config(TBX_CONFIG).unwrap();
    c.embeddings[1].tensor_shape = vec![4, 2];
    assert_eq!(
        config_json(&c),
        r#"{
  "embeddings": [
    {
      "tensorName": "default:00000",
      "metadataPath": "00000/default/metadata.tsv",
      "sprite": {
        "imagePath": "00000/default/sprite.png",
        "singleImageDim": [
          8,
          8
        ]
      },
      "tensorPath": "00000/default/tensors.tsv"
    },
    {
      "tensorName": "words:00003",
      "tensorShape": [
        4,
        2
      ],
      "tensorPath": "00003/words/tensors.tsv"
    }
  ]
}"#
    );
}

/// A config in a temporary folder with the files of `files`.
fn folder(config: &str, files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(CONFIG_FILE), config).unwrap();
    for (name, bytes) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    dir
}

#[test]
fn each_embedding_fails_on_its_own_and_the_rest_is_read() {
    let config = r#"
        embeddings { tensor_name: "ok:0" tensor_path: "ok.tsv" metadata_path: "gone.tsv" }
        embeddings { tensor_name: "missing" tensor_path: "nope.tsv" }
        embeddings { tensor_name: "escape" tensor_path: "../../etc/passwd" }
        embeddings { tensor_name: "huge" tensor_path: "huge.tsv" }
        embeddings { tensor_name: "ckpt" }
    "#;
    let dir = folder(config, &[("ok.tsv", b"1\t2\n3\t4\n5\t6\n")]);
    let huge = std::fs::File::create(dir.path().join("huge.tsv")).unwrap();
    huge.set_len(5 << 30).unwrap(); // sparse: nothing is written
    let read = read_config(&dir.path().join(CONFIG_FILE), Limits::default(), &|_| None).unwrap();
    let names: Vec<&str> = read.embeddings.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["ok", "missing", "escape", "huge", "ckpt"]);
    let EmbeddingRead::Read(ok) = &read.embeddings[0].read else {
        panic!("{:?}", read.embeddings[0].read)
    };
    assert_eq!((ok.rows, ok.dims), (3, 2));
    assert_eq!(ok.metadata, None);
    assert!(ok.errors[0].contains("gone.tsv"), "{:?}", ok.errors);
    assert_eq!(read.config.embeddings[0].tensor_shape, [3, 2]);
    let failed = |i: usize| match &read.embeddings[i].read {
        EmbeddingRead::Failed(why) => why.clone(),
        other => panic!("{other:?}"),
    };
    assert!(
        failed(1).contains("nope.tsv\" cannot be read"),
        "{}",
        failed(1)
    );
    assert!(
        failed(2).contains("outside the config directory"),
        "{}",
        failed(2)
    );
    assert!(failed(3).contains("more than the"), "{}", failed(3));
    assert!(failed(4).contains("checkpoints"), "{}", failed(4));
    assert!(read.config.embeddings[1].tensor_shape.is_empty());
    // Read again with the sources stored: nothing is read twice.
    let sources: Vec<(String, String)> = read
        .embeddings
        .iter()
        .map(|e| (e.name.clone(), e.source.clone()))
        .collect();
    let previous = |name: &str| {
        sources
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s.clone())
    };
    let again = read_config(&dir.path().join(CONFIG_FILE), Limits::default(), &previous).unwrap();
    assert_eq!(again.embeddings[0].read, EmbeddingRead::Unchanged);
    // A bad config is an error of its own.
    std::fs::write(dir.path().join(CONFIG_FILE), "embeddings {").unwrap();
    assert!(read_config(&dir.path().join(CONFIG_FILE), Limits::default(), &|_| None).is_err());
}
