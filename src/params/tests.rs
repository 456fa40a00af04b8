//! Tests of the parameter store: safetensors and JSON round trips, strict loading, hostile files.

use super::*;
use ndarray::arr2;

fn store() -> ParamStore<f32> {
    let mut s = ParamStore::new();
    s.insert(
        "b.weight",
        arr2(&[[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.5]]).into_dyn(),
    );
    s.insert("a.bias", ndarray::arr1(&[-1.0f32, 0.25]).into_dyn());
    s
}

#[test]
fn safetensors_and_json_round_trip() {
    let s = store();
    let bytes = s.to_safetensors();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    assert_eq!((8 + n) % 8, 0, "data is 8-byte aligned");
    let mut t = store();
    t.param_mut("a.bias").unwrap().value.fill(9.0);
    t.load_safetensors(&bytes).unwrap();
    assert_eq!(s, t);
    t.param_mut("a.bias").unwrap().value.fill(9.0);
    t.load_json(&s.to_json()).unwrap();
    assert_eq!(s, t);
}

#[test]
fn strict_loading_names_the_key_and_shapes() {
    let mut s = store();
    let mut m = s.to_map();
    m.get_mut("b.weight").unwrap().0 = vec![3, 2];
    let e = s.load_map(&m).unwrap_err();
    assert!(
        e.message.contains("b.weight")
            && e.message.contains("[3, 2]")
            && e.message.contains("[2, 3]"),
        "{e}"
    );
    let mut m = s.to_map();
    m.remove("a.bias");
    assert!(s
        .load_map(&m)
        .unwrap_err()
        .message
        .contains("missing parameter \"a.bias\""));
    let mut m = s.to_map();
    m.insert("c.extra".into(), (vec![1], vec![0.0]));
    assert!(s
        .load_map(&m)
        .unwrap_err()
        .message
        .contains("unknown parameter \"c.extra\""));
    // The store is unchanged after a failed load.
    assert_eq!(s, store());
}

#[test]
fn hostile_safetensors_are_errors() {
    assert!(read_safetensors(&[1, 2, 3]).is_err());
    assert!(read_safetensors(&u64::MAX.to_le_bytes()).is_err());
    let mut b = store().to_safetensors();
    b.truncate(b.len() - 3);
    assert!(read_safetensors(&b)
        .unwrap_err()
        .message
        .contains("offsets"));
    let hdr = br#"{"x":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}"#;
    let mut b = (hdr.len() as u64).to_le_bytes().to_vec();
    b.extend_from_slice(hdr);
    b.extend_from_slice(&[0; 8]);
    assert!(read_safetensors(&b).unwrap_err().message.contains("I64"));
}

#[test]
fn metadata_round_trips_and_the_bytes_are_reproducible() {
    let meta = Metadata::from([
        ("config".to_string(), r#"{"d_model":8}"#.to_string()),
        ("vocab".to_string(), r#"["<pad>","感冒"]"#.to_string()),
        ("seed".to_string(), "7".to_string()),
    ]);
    let bytes = store().to_safetensors_with(&meta);
    // The crate keeps metadata in a hash map; the header is written in sorted order, so
    // the same store and metadata give the same bytes, call after call.
    for _ in 0..5 {
        assert_eq!(store().to_safetensors_with(&meta), bytes);
    }
    let h = header_of(&bytes);
    let keys: Vec<&String> = h["__metadata__"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["config", "format", "seed", "vocab", "writer"]);
    let (map, back) = read_safetensors_with_metadata(&bytes).unwrap();
    assert_eq!(map, store().to_map());
    assert_eq!(back["vocab"], r#"["<pad>","感冒"]"#);
    assert_eq!((back["format"].as_str(), back.len()), ("pt", 5));
    // Without metadata a file still says what wrote it, as before.
    let (_, plain) = read_safetensors_with_metadata(&store().to_safetensors()).unwrap();
    assert_eq!(plain["writer"], "lm-playground");
}

#[test]
fn the_crate_refusals_still_name_the_tensor() {
    // A dtype no one knows: the crate's JSON error, explained with the entry's name.
    let e = read_safetensors(&relabel(&store().to_safetensors(), "F32", "Q32")).unwrap_err();
    assert!(e.message.contains("entry \"a.bias\" has dtype Q32"), "{e}");
    // A gap between two tensors' bytes (the second starts 4 bytes late) is refused: each
    // entry alone is fine, so the message says the offsets do not cover the data.
    let hdr = br#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#;
    let mut b = (hdr.len() as u64).to_le_bytes().to_vec();
    b.extend_from_slice(hdr);
    b.extend_from_slice(&[0; 12]);
    let e = read_safetensors(&b).unwrap_err();
    assert!(e.message.starts_with("safetensors: "), "{e}");
    assert!(
        e.message.contains("entry \"b\"") && e.message.contains("no gap"),
        "{e}"
    );
}

/// The JSON header of safetensors bytes.
fn header_of(bytes: &[u8]) -> serde_json::Value {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    serde_json::from_slice(&bytes[8..8 + n]).unwrap()
}

/// An f64 store whose values f32 cannot hold exactly (0.1, 1/3, 1 + 2⁻³⁰, 1e-300).
fn store64() -> ParamStore<f64> {
    let mut s = ParamStore::new();
    s.insert(
        "w",
        arr2(&[[0.1, 1.0 / 3.0], [1.0 + 2f64.powi(-30), -1e-300]]).into_dyn(),
    );
    s.insert(
        "b",
        ndarray::arr1(&[-2.5, 7.0, std::f64::consts::PI]).into_dyn(),
    );
    s
}

#[test]
fn f64_stores_write_f64_and_read_back_exactly() {
    let s = store64();
    let bytes = s.to_safetensors();
    let h = header_of(&bytes);
    // Every tensor is tagged F64 and takes 8 bytes per value, in sorted order: b (3 values)
    // in bytes 0..24, then w (4 values) in 24..56.
    assert_eq!(h["b"]["dtype"], "F64");
    assert_eq!(h["w"]["dtype"], "F64");
    assert_eq!(h["b"]["data_offsets"], serde_json::json!([0, 24]));
    assert_eq!(h["w"]["data_offsets"], serde_json::json!([24, 56]));
    let mut t = store64();
    t.param_mut("w").unwrap().value.fill(0.0);
    t.load_safetensors(&bytes).unwrap();
    for (name, p) in s.iter() {
        let (a, b) = (&p.value, t.get(name).unwrap());
        assert!(
            a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits()),
            "{name}: {a} read back as {b}"
        );
    }
}

#[test]
fn f64_files_load_into_f32_stores_rounded() {
    // Reading converts: an f32 store takes each F64 value rounded to the nearest f32
    // (0.1 → 0.1f32, 1 + 2⁻³⁰ → 1, 1e-300 → −0), as torch's `.float()` does.
    let bytes = store64().to_safetensors();
    let mut t = ParamStore::<f32>::new();
    t.insert("w", ndarray::ArrayD::zeros(IxDyn(&[2, 2])));
    t.insert("b", ndarray::ArrayD::zeros(IxDyn(&[3])));
    t.load_safetensors(&bytes).unwrap();
    for (name, p) in store64().iter() {
        let want: Vec<f32> = p.value.iter().map(|&x| x as f32).collect();
        let got: Vec<f32> = t.get(name).unwrap().iter().copied().collect();
        assert_eq!(got, want, "{name}");
    }
    assert_eq!(t.get("w").unwrap()[[1, 0]], 1.0);
    // And an f32 file into an f64 store is exact.
    let mut back = store64();
    back.load_safetensors(&t.to_safetensors()).unwrap();
    assert_eq!(back.to_map(), t.to_map());
}

/// `bytes` with every `"from"` in the header replaced by `"to"` (of the same length, so
/// the header length and the offsets stay valid).
fn relabel(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = std::str::from_utf8(&bytes[8..8 + n])
        .unwrap()
        .replace(&format!("\"{from}\""), &format!("\"{to}\""));
    assert_eq!(header.len(), n);
    [&bytes[..8], header.as_bytes(), &bytes[8 + n..]].concat()
}

#[test]
fn the_dtype_tag_must_match_the_data() {
    // f64 data tagged F32: 8 bytes per value are twice what F32 needs, so the file is
    // refused, naming the tensor, rather than read as twice as many f32 halves.
    let e = read_safetensors(&relabel(&store64().to_safetensors(), "F64", "F32")).unwrap_err();
    assert!(
        e.message.contains("entry \"b\"")
            && e.message.contains("3 values of F32")
            && e.message.contains("[0, 24]"),
        "{e}"
    );
    // f32 data tagged F64 holds half the bytes F64 needs.
    let e = read_safetensors(&relabel(&store().to_safetensors(), "F32", "F64")).unwrap_err();
    assert!(
        e.message.contains("entry \"a.bias\"") && e.message.contains("2 values of F64"),
        "{e}"
    );
}

#[test]
fn half_precision_decodes() {
    // 0x3C00 = 1.0, 0xC000 = −2.0, 0x3555 ≈ 0.33325, 0x0001 = 2⁻²⁴ (smallest subnormal)
    assert_eq!(f16_to_f64(0x3C00), 1.0);
    assert_eq!(f16_to_f64(0xC000), -2.0);
    assert!((f16_to_f64(0x3555) - 0.333_251_953_125).abs() < 1e-12);
    assert_eq!(f16_to_f64(0x0001), 2f64.powi(-24));
}
