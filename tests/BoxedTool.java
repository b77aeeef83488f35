// Test helper: runs the DCC Boxed reference tool (Sign / Validate from tool.jar) over many files
// in ONE JVM. Usage: java -cp tool.jar BoxedTool.java sign|validate OUTDIR FILE...
// Modes: "sign" keeps each file's RequestID counter (--preserveCounter); "sign-fresh" lets the
// tool set a fresh counter (its clock in ms) and waits for the next millisecond after each
// file, so the counters of one run strictly increase in file order; "validate".
// Prints "<exit code> <index>" per file; the tool's stdout for file i goes to OUTDIR/i.out.
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Paths;
import uk.co.smartdcc.boxed.xmldsig.ResultCode;
import uk.co.smartdcc.boxed.xmldsig.Sign;
import uk.co.smartdcc.boxed.xmldsig.Validate;

public class BoxedTool {
    public static void main(String[] args) throws Exception {
        String mode = args[0];
        String outDir = args[1];
        PrintStream realOut = System.out;
        PrintStream realErr = System.err;
        for (int i = 2; i < args.length; i++) {
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            System.setOut(new PrintStream(buf, true, "UTF-8"));
            System.setErr(new PrintStream(err, true, "UTF-8"));
            ResultCode rc;
            long t0 = System.currentTimeMillis();
            try {
                if (mode.equals("sign")) {
                    rc = Sign.main_aux(new String[] {args[i], "--preserveCounter"});
                } else if (mode.equals("sign-fresh")) {
                    rc = Sign.main_aux(new String[] {args[i]});
                } else {
                    rc = Validate.main_aux(new String[] {args[i]});
                }
            } catch (Exception e) {
                rc = ResultCode.GENERIC_ERROR;
            } finally {
                System.setOut(realOut);
                System.setErr(realErr);
            }
            t0 = System.currentTimeMillis();
            while (System.currentTimeMillis() <= t0) {
                Thread.sleep(1);
            }
            Files.write(Paths.get(outDir, (i - 2) + ".out"), buf.toByteArray());
            Files.write(Paths.get(outDir, (i - 2) + ".err"), err.toByteArray());
            realOut.println(rc.value() + " " + (i - 2));
        }
    }
}
