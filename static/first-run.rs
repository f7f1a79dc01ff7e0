// A first run: add the SDK to your project (`cargo add runboard-sdk`), then log from your loop.
use runboard_sdk::SummaryWriter;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut writer = SummaryWriter::new("runs/my-first-run")?;
    for step in 0..1000 {
        writer.add_scalar("loss", 1.0 / (1.0 + step as f64), step);
    }
    writer.close()?;
    Ok(())
}
