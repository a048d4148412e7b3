/*
 * Stand-in for bcryptprimitives.dll, for running Bun's Windows build under
 * Wine only. Bun imports ProcessPrng from bcryptprimitives.dll, which Wine 8
 * does not export, so the exe stops at load. The Wine suite compiles this file
 * with x86_64-w64-mingw32-gcc into a temporary directory and puts the DLL
 * beside jerrylock.exe there. It is never shipped or committed as a binary.
 * Real Windows (10 and later) has the system DLL and never loads this one
 * unless someone copies it next to the exe.
 */
#include <windows.h>

/* RtlGenRandom is exported from advapi32 under this name. */
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

/* Fills `data` with `size` random bytes; ProcessPrng is documented to always return TRUE. */
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T size)
{
    while (size > 0) {
        ULONG chunk = size > 0x40000000 ? 0x40000000 : (ULONG)size;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        size -= chunk;
    }
    return TRUE;
}
