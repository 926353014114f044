# One-off conversion of the official LDMVFI checkpoint into compact inference weights
# (EMA U-Net + autoencoder once, safetensors), so that every model job loads in about a second.


if CONVERT_CHECKPOINT:

    rule convert_checkpoint:
        input:
            SETTINGS.ldmvfi.checkpoint,
        output:
            LDMVFI_WEIGHTS,
        params:
            config=(
                f"--config {SETTINGS.ldmvfi.config}" if SETTINGS.ldmvfi.config else ""
            ),
        log:
            RESULTS / "logs" / "convert_checkpoint.log",
        benchmark:
            RESULTS / "benchmarks" / "convert_checkpoint.tsv"
        threads: 1
        conda:
            ENV
        shell:
            "vfi convert-checkpoint {input:q} {output:q} {params.config} 2> {log:q}"
