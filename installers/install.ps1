<#
.SYNOPSIS
  Tuning Studio installer for Windows: one command, each step timed, safe to re-run.

.DESCRIPTION
  Installs Tuning Studio into its own virtual environment with the torch and llama.cpp builds
  that match this machine (NVIDIA CUDA or CPU), prepares llama.cpp's GGUF converter and adds a
  Start-menu shortcut. Re-running upgrades in place and skips finished steps. The same steps as
  installers/install.sh; the hardware plan comes from studio/hardware.py in both.

  Environment: TUNING_STUDIO_TORCH_SPEC, TUNING_STUDIO_TORCH_INDEX_URL,
  TUNING_STUDIO_LLAMA_CMAKE_ARGS, TUNING_STUDIO_MIN_FREE_GB.

.EXAMPLE
  powershell -ExecutionPolicy Bypass -File installers\install.ps1
  powershell -ExecutionPolicy Bypass -File installers\install.ps1 -DryRun
  powershell -ExecutionPolicy Bypass -File installers\install.ps1 -Uninstall
#>
[CmdletBinding()]
param(
    [string]$Prefix = (Join-Path $env:LOCALAPPDATA "tuning-studio"),
    [string]$StartMenuDir = (Join-Path $env:APPDATA "Microsoft\Windows\Start Menu\Programs"),
    [string]$Python = "",
    [switch]$DryRun,
    [switch]$Force,
    [switch]$Uninstall,
    [switch]$Purge
)

$ErrorActionPreference = "Stop"
Set-StrictMode -Version 3.0

$Repo = Split-Path -Parent $PSScriptRoot
$Venv = Join-Path $Prefix "venv"
$VenvPy = Join-Path $Venv "Scripts\python.exe"
$VenvPyw = Join-Path $Venv "Scripts\pythonw.exe"
$Stamps = Join-Path $Venv ".install-stamps"
$Share = Join-Path $Venv "share\tuning-studio"
$Log = Join-Path $Prefix "install.log"
$Shortcut = Join-Path $StartMenuDir "Tuning Studio.lnk"
$LlamaPin = (Select-String -Path (Join-Path $Repo "pyproject.toml") `
        -Pattern 'llama-cpp-python==[0-9][0-9.]*' | Select-Object -First 1).Matches[0].Value
$script:Step = 0
$Total = 10
$script:Clock = $null
$script:Py = $null
$script:Plan = $null

# --- output ------------------------------------------------------------------------------------
function Stop-Install([string]$Message) {
    Write-Host ""
    Write-Host "error: $Message" -ForegroundColor Red
    exit 1
}
function Write-Info([string]$Message) { Write-Host "      $Message" }
function Format-Duration([double]$Seconds) {
    if ($Seconds -lt 1) { return "<1 s" }
    if ($Seconds -lt 60) { return ("{0:N0} s" -f $Seconds) }
    return ("{0} min {1} s" -f [math]::Floor($Seconds / 60), [math]::Floor($Seconds % 60))
}
function Start-Step([string]$Name) {
    $script:Step += 1
    $script:Clock = [Diagnostics.Stopwatch]::StartNew()
    Write-Host ("[{0}/{1}] {2}" -f $script:Step, $Total, $Name)
}
function Complete-Step([string]$Message) {
    Write-Info ("{0} ({1})" -f $Message, (Format-Duration $script:Clock.Elapsed.TotalSeconds))
}

# Runs a native command; its stderr must not become a terminating PowerShell error.
function Invoke-Native([string]$Exe, [string[]]$Arguments) {
    $saved = $ErrorActionPreference
    $ErrorActionPreference = "Continue"
    try {
        $output = & $Exe @Arguments 2>&1 | ForEach-Object { "$_" }
        return @{ Code = $LASTEXITCODE; Output = ($output -join "`n") }
    } finally { $ErrorActionPreference = $saved }
}

# pip with its whole output in the log and a short progress view on screen.
function Invoke-Pip([string[]]$Arguments) {
    $saved = $ErrorActionPreference
    $ErrorActionPreference = "Continue"
    try {
        & $VenvPy -m pip @Arguments --progress-bar off 2>&1 | ForEach-Object { "$_" } |
            Tee-Object -FilePath $Log -Append | ForEach-Object {
                if ($_ -match '^(Collecting|Processing|  Downloading|  Building wheel)') {
                    Write-Host "      | $_"
                }
            }
        $code = $LASTEXITCODE
    } finally { $ErrorActionPreference = $saved }
    if ($code -ne 0) {
        Write-Host "--- last lines of $Log ---"
        Get-Content $Log -Tail 30 | ForEach-Object { Write-Host $_ }
    }
    return ($code -eq 0)
}

# --- stamps: each step writes the key of its inputs; an equal key means nothing to do ----------
function Test-Stamp([string]$Name, [string]$Key) {
    $file = Join-Path $Stamps $Name
    return (-not $Force) -and (Test-Path $file) -and ((Get-Content $file -Raw) -eq $Key)
}
function Write-Stamp([string]$Name, [string]$Key) {
    New-Item -ItemType Directory -Force -Path $Stamps | Out-Null
    Set-Content -Path (Join-Path $Stamps $Name) -Value $Key -NoNewline
}
function Test-Installed([string]$Dist) {
    if (-not (Test-Path $VenvPy)) { return $false }
    $r = Invoke-Native $VenvPy @("-c", "import importlib.metadata as m; m.version('$Dist')")
    return ($r.Code -eq 0)
}

# --- checks --------------------------------------------------------------------------------------
function Get-PythonVersion([string[]]$Command) {
    $exe = $Command[0]
    $rest = @($Command | Select-Object -Skip 1)
    if (-not (Get-Command $exe -ErrorAction SilentlyContinue)) { return $null }
    $r = Invoke-Native $exe ($rest + @("-c",
            "import sys; print('%d.%d.%d' % sys.version_info[:3]); print(sys.executable)"))
    if ($r.Code -ne 0) { return $null }
    $lines = $r.Output -split "`n"
    return @{ Version = [version]$lines[0].Trim(); Path = $lines[1].Trim() }
}

function Find-Python {
    Start-Step "Checking Python"
    $candidates = @()
    if ($Python) { $candidates += , @($Python) }
    else {
        $candidates += , @("py", "-3.13"); $candidates += , @("py", "-3.12")
        $candidates += , @("py", "-3.11"); $candidates += , @("py", "-3.10")
        $candidates += , @("python")
    }
    $seen = @()
    foreach ($command in $candidates) {
        $found = Get-PythonVersion $command
        if ($null -eq $found) { continue }
        if ($found.Version -ge [version]"3.10") {
            $script:Py = $found.Path
            Complete-Step "Python $($found.Version) at $($found.Path)"
            return
        }
        $seen += "$($command -join ' ')=$($found.Version)"
    }
    $what = if ($seen) { $seen -join ", " } else { "none" }
    Stop-Install ("Tuning Studio needs Python 3.10 or newer; found: $what. Install it with " +
        "'winget install Python.Python.3.12' or from python.org, then run this again.")
}

function Get-Hardware {
    Start-Step "Detecting hardware"
    $env:PYTHONPATH = $Repo
    $r = Invoke-Native $script:Py @("-m", "studio.system.hardware", "--json")
    Remove-Item Env:\PYTHONPATH
    if ($r.Code -ne 0) { Stop-Install "hardware detection failed: $($r.Output)" }
    $script:Plan = $r.Output | ConvertFrom-Json
    $p = $script:Plan
    Write-Info $p.TS_DESCRIPTION
    $index = if ($p.TS_TORCH_INDEX_URL) { $p.TS_TORCH_INDEX_URL } else { "the default index" }
    Write-Info "torch: $($p.TS_TORCH_SPEC) ($($p.TS_TORCH_VARIANT) build) from $index"
    Write-Info "llama.cpp: $($p.TS_LLAMA_BACKEND) build, CMAKE_ARGS=`"$($p.TS_LLAMA_CMAKE_ARGS)`""
    foreach ($note in ($p.TS_NOTES -split "`n")) { if ($note) { Write-Info "note: $note" } }
    $script:LlamaKey = "$LlamaPin $($p.TS_LLAMA_CMAKE_ARGS)"
    if (-not (Test-Stamp "llama" $script:LlamaKey)) {
        if ($p.TS_TOOLCHAIN_FATAL) {
            Stop-Install ("llama-cpp-python is built from source, and build tools are missing. " +
                "Install them:`n$($p.TS_TOOLCHAIN_FATAL)`nthen run this installer again.")
        }
        if ($p.TS_TOOLCHAIN_WARN) { Write-Info "note: $($p.TS_TOOLCHAIN_WARN)" }
    }
    Complete-Step "done"
}

function Test-Disk {
    Start-Step "Checking free disk space"
    $dir = $Prefix
    while (-not (Test-Path $dir)) { $dir = Split-Path -Parent $dir }
    $need = [double]$script:Plan.TS_MIN_FREE_GB
    if ((Test-Path $VenvPy) -and -not $env:TUNING_STUDIO_MIN_FREE_GB) { $need = 1 }
    $drive = New-Object System.IO.DriveInfo ([System.IO.Path]::GetPathRoot((Resolve-Path $dir).Path))
    $free = $drive.AvailableFreeSpace / 1GB
    if ($free -lt $need) {
        $short = "not enough disk space: {0:N1} GiB free on {1}, {2} GiB needed." -f $free, $drive.Name, $need
        Stop-Install "$short Free some space, or install elsewhere with -Prefix DIR."
    }
    Complete-Step ("{0:N1} GiB free on {1} (needs {2} GiB)" -f $free, $drive.Name, $need)
}

# --- install steps -------------------------------------------------------------------------------
function New-Venv {
    Start-Step "Creating the environment in $Venv"
    $key = $script:Py
    if ((Test-Stamp "venv" $key) -and (Test-Path $VenvPy)) { Complete-Step "already there"; return }
    if ($DryRun) { Complete-Step "would create it"; return }
    if (Test-Path $Venv) { Remove-Item -Recurse -Force $Venv }
    New-Item -ItemType Directory -Force -Path $Prefix | Out-Null
    Add-Content -Path $Log -Value "=== $(Get-Date) install.ps1"
    $r = Invoke-Native $script:Py @("-m", "venv", $Venv)
    if ($r.Code -ne 0) { Stop-Install "could not create the environment: $($r.Output)" }
    if (-not (Invoke-Pip @("install", "--upgrade", "pip"))) { Stop-Install "could not upgrade pip" }
    Write-Stamp "venv" $key
    Complete-Step "created"
}

function Install-Torch {
    $p = $script:Plan
    Start-Step "Installing torch ($($p.TS_TORCH_VARIANT))"
    $key = "$($p.TS_TORCH_SPEC) $($p.TS_TORCH_INDEX_URL)"
    if ((Test-Stamp "torch" $key) -and (Test-Installed "torch")) {
        Complete-Step "already installed"; return
    }
    if ($DryRun) { Complete-Step "would run: pip install $($p.TS_TORCH_SPEC)"; return }
    $pipArgs = @("install", $p.TS_TORCH_SPEC)
    if ($p.TS_TORCH_INDEX_URL) { $pipArgs += @("--index-url", $p.TS_TORCH_INDEX_URL) }
    if (-not (Invoke-Pip $pipArgs)) { Stop-Install "pip could not install $($p.TS_TORCH_SPEC)" }
    Write-Stamp "torch" $key
    Complete-Step "installed"
}

function Install-Llama {
    $p = $script:Plan
    Start-Step "Installing $LlamaPin (llama.cpp for $($p.TS_LLAMA_BACKEND))"
    if ((Test-Stamp "llama" $script:LlamaKey) -and (Test-Installed "llama-cpp-python")) {
        Complete-Step "already built"; return
    }
    if ($DryRun) { Complete-Step "would build it with CMAKE_ARGS=`"$($p.TS_LLAMA_CMAKE_ARGS)`""; return }
    Write-Info "the first build compiles llama.cpp (5-15 min); pip caches the wheel for later installs"
    $env:CMAKE_ARGS = $p.TS_LLAMA_CMAKE_ARGS
    if (-not (Invoke-Pip @("install", $LlamaPin))) { Stop-Install "building llama-cpp-python failed" }
    # pip's wheel cache is keyed by version, not CMAKE_ARGS: rebuild when the backend is wrong.
    $probe = "import sys, llama_cpp; sys.exit(0 if llama_cpp.llama_supports_gpu_offload() else 1)"
    if ($p.TS_LLAMA_BACKEND -ne "cpu" -and (Invoke-Native $VenvPy @("-c", $probe)).Code -ne 0) {
        Write-Info "the cached wheel has no $($p.TS_LLAMA_BACKEND) support; building it again"
        $ok = Invoke-Pip @("install", "--force-reinstall", "--no-deps", "--no-cache-dir", $LlamaPin)
        if (-not $ok) { Stop-Install "rebuilding llama-cpp-python failed" }
    }
    Remove-Item Env:\CMAKE_ARGS
    Write-Stamp "llama" $script:LlamaKey
    Complete-Step "installed"
}

function Install-Extras {
    # The CUDA extras: bitsandbytes (QLoRA's 4-bit base) and Liger's kernels. LoRA trains without
    # them; pre-flight refuses QLoRA where bitsandbytes is missing, and doctor reports both.
    $p = $script:Plan
    if (-not $p.TS_EXTRA_PACKAGES) { return }
    Start-Step "Installing the CUDA extras: $($p.TS_EXTRA_PACKAGES)"
    if (Test-Stamp "extras" $p.TS_EXTRA_PACKAGES) { Complete-Step "already installed"; return }
    if ($DryRun) { Complete-Step "would run: pip install $($p.TS_EXTRA_PACKAGES)"; return }
    if (Invoke-Pip (@("install") + ($p.TS_EXTRA_PACKAGES -split " "))) {
        Write-Stamp "extras" $p.TS_EXTRA_PACKAGES
        Complete-Step "installed"
    } else {
        Complete-Step "skipped: pip could not install them; LoRA trains without them, QLoRA cannot"
    }
}

function Install-App {
    Start-Step "Installing Tuning Studio from $Repo"
    $key = (Invoke-Native $script:Py @((Join-Path $Repo "installers\source_hash.py"), $Repo)).Output.Trim()
    if ((Test-Stamp "app" $key) -and (Test-Installed "tuning-studio")) {
        Complete-Step "already up to date"; return
    }
    if ($DryRun) { Complete-Step "would install it"; return }
    # Build from a clean copy: an in-tree build would leave build\ and egg-info in the checkout.
    $stage = Join-Path ([System.IO.Path]::GetTempPath()) ("tuning-studio-" + [guid]::NewGuid())
    New-Item -ItemType Directory -Path $stage | Out-Null
    foreach ($item in @("pyproject.toml", "README.md", "studio", "backends", "ui", "resources")) {
        Copy-Item -Recurse -Path (Join-Path $Repo $item) -Destination $stage
    }
    Get-ChildItem -Path $stage -Recurse -Directory -Filter "__pycache__" | Remove-Item -Recurse -Force
    $ok = Invoke-Pip @("install", "--upgrade", $stage)
    Remove-Item -Recurse -Force $stage
    if (-not $ok) { Stop-Install "pip could not install the app" }
    New-Item -ItemType Directory -Force -Path $Share | Out-Null
    Copy-Item -Path (Join-Path $Repo "resources\icons\tuning-studio.ico") -Destination $Share
    Write-Stamp "app" $key
    Complete-Step "installed"
}

function Initialize-Converter {
    Start-Step "Preparing llama.cpp's GGUF converter"
    if ($DryRun) { Complete-Step "would run: python -m studio.registry.converter prepare"; return }
    if (-not $Force -and (Invoke-Native $VenvPy @("-m", "studio.registry.converter", "path")).Code -eq 0) {
        Complete-Step "already prepared"; return
    }
    Write-Info "downloading the llama-cpp-python sdist (76 MB) to take the converter from"
    $r = Invoke-Native $VenvPy @("-m", "studio.registry.converter", "prepare")
    if ($r.Code -ne 0) { Stop-Install "could not prepare the converter: $($r.Output)" }
    Complete-Step "ready in $($r.Output.Trim())"
}

function Add-Shortcut {
    Start-Step "Adding the Start-menu shortcut"
    if ($DryRun) { Complete-Step "would write $Shortcut"; return }
    New-Item -ItemType Directory -Force -Path $StartMenuDir | Out-Null
    $shell = New-Object -ComObject WScript.Shell
    $link = $shell.CreateShortcut($Shortcut)
    # pythonw: the app opens without a console window.
    $link.TargetPath = $VenvPyw
    $link.Arguments = "-m ui.launcher"
    $link.WorkingDirectory = $env:USERPROFILE
    $link.IconLocation = (Join-Path $Share "tuning-studio.ico")
    $link.Description = "Label model outputs, tune a local language model on them and compare"
    $link.Save()
    Complete-Step "wrote $Shortcut"
}

function Invoke-Doctor {
    Start-Step "Checking the installation (tuning-studio doctor)"
    if ($DryRun) { Complete-Step "would run it"; return }
    $r = Invoke-Native $VenvPy @("-m", "studio.cli.doctor")
    foreach ($line in ($r.Output -split "`n")) { Write-Info $line }
    if ($r.Code -eq 0) { Complete-Step "healthy" } else { Complete-Step "installed, with the problems above" }
}

# --- uninstall -----------------------------------------------------------------------------------
function Remove-Install {
    $data = Join-Path $env:LOCALAPPDATA "tuning-studio"
    $cache = Join-Path $data "Cache"
    if ($env:TUNING_STUDIO_DATA_DIR) { $data = $env:TUNING_STUDIO_DATA_DIR }
    if ($env:TUNING_STUDIO_CACHE_DIR) { $cache = $env:TUNING_STUDIO_CACHE_DIR }
    if (Test-Path $VenvPy) {
        $data = (Invoke-Native $VenvPy @("-c", "from studio.paths import default_data_dir as d; print(d())")).Output.Trim()
        $cache = (Invoke-Native $VenvPy @("-c", "from studio.paths import cache_dir as c; print(c())")).Output.Trim()
    }
    Write-Host "Removing Tuning Studio"
    foreach ($path in @($Venv, $Log, $Shortcut)) {
        if (Test-Path $path) { Remove-Item -Recurse -Force $path; Write-Host "  removed $path" }
    }
    if ($Purge) {
        foreach ($path in @($data, $cache)) { if (Test-Path $path) { Remove-Item -Recurse -Force $path } }
        Write-Host "  deleted your data ($data) and caches ($cache)"
    } else {
        Write-Host "  kept your data in $data (delete it with -Purge)"
    }
    if ((Test-Path $Prefix) -and -not (Get-ChildItem $Prefix)) { Remove-Item $Prefix }
}

if ($Uninstall -or $Purge) { Remove-Install; exit 0 }
$started = [Diagnostics.Stopwatch]::StartNew()
if ($DryRun) { Write-Host "Tuning Studio installer (dry run: nothing is changed)" }
else { Write-Host "Tuning Studio installer" }
Find-Python
Get-Hardware
Test-Disk
New-Venv
Install-Torch
Install-Llama
Install-App
Install-Extras
Initialize-Converter
Add-Shortcut
Invoke-Doctor
Write-Host ("Done in {0}." -f (Format-Duration $started.Elapsed.TotalSeconds))
if (-not $DryRun) { Write-Host "Start it from the Start menu ('Tuning Studio')." }
